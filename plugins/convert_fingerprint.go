package plugins

import (
	pb "github.com/ferry-video/ferry/plugins/proto/drivers"
	structspb "github.com/ferry-video/ferry/plugins/proto/structs"
)

// fingerprintToProto converts a fingerprint message. An Err also sets the
// health to unhealthy, because Nomad clients before 1.11.3 ignore err.
func fingerprintToProto(f *Fingerprint) *pb.FingerprintResponse {
	out := &pb.FingerprintResponse{
		Attributes:        make(map[string]*structspb.Attribute, len(f.Attributes)),
		Health:            pb.FingerprintResponse_HealthState(f.Health),
		HealthDescription: f.Description,
		Err:               f.Err,
	}
	if f.Err != "" {
		out.Health = pb.FingerprintResponse_UNHEALTHY
	}
	for key, attr := range f.Attributes {
		out.Attributes[key] = attributeToProto(attr)
	}
	return out
}

// fingerprintFromProto converts a wire fingerprint message.
func fingerprintFromProto(f *pb.FingerprintResponse) *Fingerprint {
	out := &Fingerprint{
		Health:      HealthState(f.GetHealth()),
		Description: f.GetHealthDescription(),
		Attributes:  make(map[string]Attribute, len(f.GetAttributes())),
		Err:         f.GetErr(),
	}
	for key, attr := range f.GetAttributes() {
		out.Attributes[key] = attributeFromProto(attr)
	}
	return out
}

// attributeToProto converts a typed attribute.
func attributeToProto(a Attribute) *structspb.Attribute {
	out := &structspb.Attribute{Unit: a.Unit}
	switch a.Kind {
	case AttributeInt:
		out.Value = &structspb.Attribute_IntVal{IntVal: a.Int}
	case AttributeFloat:
		out.Value = &structspb.Attribute_FloatVal{FloatVal: a.Float}
	case AttributeBool:
		out.Value = &structspb.Attribute_BoolVal{BoolVal: a.Bool}
	default:
		out.Value = &structspb.Attribute_StringVal{StringVal: a.String}
	}
	return out
}

// attributeFromProto converts a wire attribute; one with no value becomes
// an empty string.
func attributeFromProto(a *structspb.Attribute) Attribute {
	out := Attribute{Unit: a.GetUnit()}
	switch v := a.GetValue().(type) {
	case *structspb.Attribute_IntVal:
		out.Kind, out.Int = AttributeInt, v.IntVal
	case *structspb.Attribute_FloatVal:
		out.Kind, out.Float = AttributeFloat, v.FloatVal
	case *structspb.Attribute_BoolVal:
		out.Kind, out.Bool = AttributeBool, v.BoolVal
	case *structspb.Attribute_StringVal:
		out.Kind, out.String = AttributeString, v.StringVal
	}
	return out
}

// capabilitiesToProto converts driver capabilities, including the mount
// and log collection settings that Nomad's own SDK leaves out.
func capabilitiesToProto(c Capabilities) *pb.DriverCapabilities {
	out := &pb.DriverCapabilities{
		SendSignals:          c.SendSignals,
		Exec:                 c.Exec,
		FsIsolation:          pb.DriverCapabilities_FSIsolation(c.FSIsolation),
		MustCreateNetwork:    c.MustCreateNetwork,
		MountConfigs:         pb.DriverCapabilities_ANY_MOUNTS,
		DisableLogCollection: c.DisableLogCollection,
	}
	if c.NoMounts {
		out.MountConfigs = pb.DriverCapabilities_NO_MOUNTS
	}
	for _, mode := range c.NetIsolationModes {
		out.NetworkIsolationModes = append(out.NetworkIsolationModes, pb.NetworkIsolationSpec_NetworkIsolationMode(mode))
	}
	return out
}

// capabilitiesFromProto converts wire driver capabilities.
func capabilitiesFromProto(c *pb.DriverCapabilities) Capabilities {
	out := Capabilities{
		SendSignals:          c.GetSendSignals(),
		Exec:                 c.GetExec(),
		FSIsolation:          FSIsolation(c.GetFsIsolation()),
		MustCreateNetwork:    c.GetMustCreateNetwork(),
		NoMounts:             c.GetMountConfigs() == pb.DriverCapabilities_NO_MOUNTS,
		DisableLogCollection: c.GetDisableLogCollection(),
	}
	for _, mode := range c.GetNetworkIsolationModes() {
		out.NetIsolationModes = append(out.NetIsolationModes, NetIsolationMode(mode))
	}
	return out
}
