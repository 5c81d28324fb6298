package plugins

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	devicepb "github.com/ferry-video/ferry/plugins/proto/device"
	structspb "github.com/ferry-video/ferry/plugins/proto/structs"
)

func deviceGroupToProto(g *DeviceGroup) *devicepb.DeviceGroup {
	out := &devicepb.DeviceGroup{
		Vendor:     g.Vendor,
		DeviceType: g.Type,
		DeviceName: g.Name,
		Attributes: make(map[string]*structspb.Attribute, len(g.Attributes)),
	}
	for key, attr := range g.Attributes {
		out.Attributes[key] = attributeToProto(attr)
	}
	for _, d := range g.Devices {
		dev := &devicepb.DetectedDevice{ID: d.ID, Healthy: d.Healthy, HealthDescription: d.HealthDescription}
		if d.PCIBusID != "" {
			dev.HwLocality = &devicepb.DeviceLocality{PciBusId: d.PCIBusID}
		}
		out.Devices = append(out.Devices, dev)
	}
	return out
}

func deviceGroupFromProto(g *devicepb.DeviceGroup) *DeviceGroup {
	out := &DeviceGroup{
		Vendor:     g.GetVendor(),
		Type:       g.GetDeviceType(),
		Name:       g.GetDeviceName(),
		Attributes: make(map[string]Attribute, len(g.GetAttributes())),
	}
	for key, attr := range g.GetAttributes() {
		out.Attributes[key] = attributeFromProto(attr)
	}
	for _, d := range g.GetDevices() {
		out.Devices = append(out.Devices, &DetectedDevice{
			ID:                d.GetID(),
			Healthy:           d.GetHealthy(),
			HealthDescription: d.GetHealthDescription(),
			PCIBusID:          d.GetHwLocality().GetPciBusId(),
		})
	}
	return out
}

// reservationToProto converts a reservation. A nil reservation becomes an
// empty one, because Nomad's client dereferences container_res.
func reservationToProto(r *ContainerReservation) *devicepb.ContainerReservation {
	out := &devicepb.ContainerReservation{Envs: map[string]string{}}
	if r == nil {
		return out
	}
	for k, v := range r.Envs {
		out.Envs[k] = v
	}
	for _, m := range r.Mounts {
		out.Mounts = append(out.Mounts, &devicepb.Mount{TaskPath: m.TaskPath, HostPath: m.HostPath, ReadOnly: m.ReadOnly})
	}
	for _, d := range r.Devices {
		out.Devices = append(out.Devices, &devicepb.DeviceSpec{TaskPath: d.TaskPath, HostPath: d.HostPath, Permissions: d.Permissions})
	}
	return out
}

func reservationFromProto(r *devicepb.ContainerReservation) *ContainerReservation {
	out := &ContainerReservation{Envs: map[string]string{}}
	for k, v := range r.GetEnvs() {
		out.Envs[k] = v
	}
	for _, m := range r.GetMounts() {
		out.Mounts = append(out.Mounts, DeviceMount{TaskPath: m.GetTaskPath(), HostPath: m.GetHostPath(), ReadOnly: m.GetReadOnly()})
	}
	for _, d := range r.GetDevices() {
		out.Devices = append(out.Devices, DeviceSpec{TaskPath: d.GetTaskPath(), HostPath: d.GetHostPath(), Permissions: d.GetPermissions()})
	}
	return out
}

func deviceGroupStatsToProto(g *DeviceGroupStats) *devicepb.DeviceGroupStats {
	out := &devicepb.DeviceGroupStats{
		Vendor:        g.Vendor,
		Type:          g.Type,
		Name:          g.Name,
		InstanceStats: make(map[string]*devicepb.DeviceStats, len(g.InstanceStats)),
	}
	for id, s := range g.InstanceStats {
		if s == nil {
			continue
		}
		ts := s.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		out.InstanceStats[id] = &devicepb.DeviceStats{
			Summary:   statValueToProto(s.Summary),
			Stats:     statObjectToProto(s.Stats),
			Timestamp: timestamppb.New(ts),
		}
	}
	return out
}

func deviceGroupStatsFromProto(g *devicepb.DeviceGroupStats) *DeviceGroupStats {
	out := &DeviceGroupStats{
		Vendor:        g.GetVendor(),
		Type:          g.GetType(),
		Name:          g.GetName(),
		InstanceStats: make(map[string]*DeviceStats, len(g.GetInstanceStats())),
	}
	for id, s := range g.GetInstanceStats() {
		out.InstanceStats[id] = &DeviceStats{
			Summary:   statValueFromProto(s.GetSummary()),
			Stats:     statObjectFromProto(s.GetStats()),
			Timestamp: timeFromProto(s.GetTimestamp()),
		}
	}
	return out
}

func statObjectToProto(o *StatObject) *structspb.StatObject {
	if o == nil {
		return nil
	}
	out := &structspb.StatObject{
		Nested:     make(map[string]*structspb.StatObject, len(o.Nested)),
		Attributes: make(map[string]*structspb.StatValue, len(o.Attributes)),
	}
	for k, v := range o.Nested {
		out.Nested[k] = statObjectToProto(v)
	}
	for k, v := range o.Attributes {
		out.Attributes[k] = statValueToProto(v)
	}
	return out
}

func statObjectFromProto(o *structspb.StatObject) *StatObject {
	if o == nil {
		return nil
	}
	out := &StatObject{
		Nested:     make(map[string]*StatObject, len(o.GetNested())),
		Attributes: make(map[string]*StatValue, len(o.GetAttributes())),
	}
	for k, v := range o.GetNested() {
		out.Nested[k] = statObjectFromProto(v)
	}
	for k, v := range o.GetAttributes() {
		out.Attributes[k] = statValueFromProto(v)
	}
	return out
}

func statValueToProto(v *StatValue) *structspb.StatValue {
	if v == nil {
		return nil
	}
	out := &structspb.StatValue{Unit: v.Unit, Desc: v.Desc}
	switch v.Kind {
	case AttributeInt:
		out.IntNumeratorVal = wrapperspb.Int64(v.Int)
	case AttributeFloat:
		out.FloatNumeratorVal = wrapperspb.Double(v.Float)
	case AttributeBool:
		out.BoolVal = wrapperspb.Bool(v.Bool)
	default:
		out.StringVal = wrapperspb.String(v.String)
	}
	return out
}

// statValueFromProto converts a wire stat value. Denominators are dropped,
// because ferry's plugins send none.
func statValueFromProto(v *structspb.StatValue) *StatValue {
	if v == nil {
		return nil
	}
	out := &StatValue{Unit: v.GetUnit(), Desc: v.GetDesc()}
	switch {
	case v.GetIntNumeratorVal() != nil:
		out.Kind, out.Int = AttributeInt, v.GetIntNumeratorVal().GetValue()
	case v.GetFloatNumeratorVal() != nil:
		out.Kind, out.Float = AttributeFloat, v.GetFloatNumeratorVal().GetValue()
	case v.GetBoolVal() != nil:
		out.Kind, out.Bool = AttributeBool, v.GetBoolVal().GetValue()
	default:
		out.Kind, out.String = AttributeString, v.GetStringVal().GetValue()
	}
	return out
}
