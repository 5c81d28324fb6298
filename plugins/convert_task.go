package plugins

import (
	pb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// taskConfigToProto converts a task config to its wire form.
func taskConfigToProto(c *TaskConfig) *pb.TaskConfig {
	if c == nil {
		return nil
	}
	return &pb.TaskConfig{
		Id:                   c.ID,
		Name:                 c.Name,
		MsgpackDriverConfig:  c.DriverConfig,
		Env:                  c.Env,
		DeviceEnv:            c.DeviceEnv,
		Resources:            resourcesToProto(c.Resources),
		Mounts:               mountsToProto(c.Mounts),
		Devices:              devicesToProto(c.Devices),
		User:                 c.User,
		AllocDir:             c.AllocDir,
		StdoutPath:           c.StdoutPath,
		StderrPath:           c.StderrPath,
		TaskGroupName:        c.TaskGroupName,
		JobName:              c.JobName,
		AllocId:              c.AllocID,
		NetworkIsolationSpec: netIsolationToProto(c.NetIsolation),
		Dns:                  dnsToProto(c.DNS),
		JobId:                c.JobID,
		Namespace:            c.Namespace,
		NodeName:             c.NodeName,
		NodeId:               c.NodeID,
	}
}

// taskConfigFromProto converts a wire task config; nil gives nil.
func taskConfigFromProto(c *pb.TaskConfig) *TaskConfig {
	if c == nil {
		return nil
	}
	return &TaskConfig{
		ID:            c.GetId(),
		Name:          c.GetName(),
		JobName:       c.GetJobName(),
		JobID:         c.GetJobId(),
		TaskGroupName: c.GetTaskGroupName(),
		Namespace:     c.GetNamespace(),
		NodeName:      c.GetNodeName(),
		NodeID:        c.GetNodeId(),
		AllocID:       c.GetAllocId(),
		DriverConfig:  c.GetMsgpackDriverConfig(),
		Env:           c.GetEnv(),
		DeviceEnv:     c.GetDeviceEnv(),
		Resources:     resourcesFromProto(c.GetResources()),
		Mounts:        mountsFromProto(c.GetMounts()),
		Devices:       devicesFromProto(c.GetDevices()),
		User:          c.GetUser(),
		AllocDir:      c.GetAllocDir(),
		StdoutPath:    c.GetStdoutPath(),
		StderrPath:    c.GetStderrPath(),
		NetIsolation:  netIsolationFromProto(c.GetNetworkIsolationSpec()),
		DNS:           dnsFromProto(c.GetDns()),
	}
}

func resourcesToProto(r *Resources) *pb.Resources {
	if r == nil {
		return nil
	}
	ports := make([]*pb.PortMapping, 0, len(r.Ports))
	for _, p := range r.Ports {
		ports = append(ports, &pb.PortMapping{Label: p.Label, Value: p.Value, To: p.To, HostIp: p.HostIP})
	}
	return &pb.Resources{
		AllocatedResources: &pb.AllocatedTaskResources{
			Cpu:    &pb.AllocatedCpuResources{CpuShares: r.CPUShares},
			Memory: &pb.AllocatedMemoryResources{MemoryMb: r.MemoryMB, MemoryMaxMb: r.MemoryMaxMB},
		},
		LinuxResources: &pb.LinuxResources{
			CpuShares:        r.CPUShares,
			MemoryLimitBytes: r.MemoryLimitBytes,
			CpusetCpus:       r.CPUSetCPUs,
			PercentTicks:     r.PercentTicks,
			CpusetCgroup:     r.CPUSetCgroup,
		},
		Ports: ports,
	}
}

func resourcesFromProto(r *pb.Resources) *Resources {
	if r == nil {
		return nil
	}
	alloc := r.GetAllocatedResources()
	linux := r.GetLinuxResources()
	out := &Resources{
		CPUShares:        alloc.GetCpu().GetCpuShares(),
		MemoryMB:         alloc.GetMemory().GetMemoryMb(),
		MemoryMaxMB:      alloc.GetMemory().GetMemoryMaxMb(),
		CPUSetCPUs:       linux.GetCpusetCpus(),
		CPUSetCgroup:     linux.GetCpusetCgroup(),
		MemoryLimitBytes: linux.GetMemoryLimitBytes(),
		PercentTicks:     linux.GetPercentTicks(),
	}
	if out.CPUShares == 0 {
		out.CPUShares = linux.GetCpuShares()
	}
	for _, p := range r.GetPorts() {
		out.Ports = append(out.Ports, PortMapping{
			Label: p.GetLabel(), Value: p.GetValue(), To: p.GetTo(), HostIP: p.GetHostIp(),
		})
	}
	return out
}

func mountsToProto(ms []Mount) []*pb.Mount {
	out := make([]*pb.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, &pb.Mount{
			TaskPath:        m.TaskPath,
			HostPath:        m.HostPath,
			Readonly:        m.ReadOnly,
			PropagationMode: m.PropagationMode,
			SelinuxLabel:    m.SELinuxLabel,
		})
	}
	return out
}

func mountsFromProto(ms []*pb.Mount) []Mount {
	var out []Mount
	for _, m := range ms {
		out = append(out, Mount{
			TaskPath:        m.GetTaskPath(),
			HostPath:        m.GetHostPath(),
			ReadOnly:        m.GetReadonly(),
			PropagationMode: m.GetPropagationMode(),
			SELinuxLabel:    m.GetSelinuxLabel(),
		})
	}
	return out
}

func devicesToProto(ds []Device) []*pb.Device {
	out := make([]*pb.Device, 0, len(ds))
	for _, d := range ds {
		out = append(out, &pb.Device{TaskPath: d.TaskPath, HostPath: d.HostPath, CgroupPermissions: d.Permissions})
	}
	return out
}

func devicesFromProto(ds []*pb.Device) []Device {
	var out []Device
	for _, d := range ds {
		out = append(out, Device{
			TaskPath: d.GetTaskPath(), HostPath: d.GetHostPath(), Permissions: d.GetCgroupPermissions(),
		})
	}
	return out
}

// netIsolationToProto converts a network isolation spec; nil gives nil.
func netIsolationToProto(n *NetworkIsolation) *pb.NetworkIsolationSpec {
	if n == nil {
		return nil
	}
	out := &pb.NetworkIsolationSpec{
		Mode:   pb.NetworkIsolationSpec_NetworkIsolationMode(n.Mode),
		Path:   n.Path,
		Labels: n.Labels,
	}
	if n.Hosts != nil {
		out.HostsConfig = &pb.HostsConfig{Hostname: n.Hosts.Hostname, Address: n.Hosts.Address}
	}
	return out
}

// netIsolationFromProto converts a wire network isolation spec; nil gives nil.
func netIsolationFromProto(n *pb.NetworkIsolationSpec) *NetworkIsolation {
	if n == nil {
		return nil
	}
	out := &NetworkIsolation{
		Mode:   NetIsolationMode(n.GetMode()),
		Path:   n.GetPath(),
		Labels: n.GetLabels(),
	}
	if h := n.GetHostsConfig(); h != nil {
		out.Hosts = &HostsConfig{Hostname: h.GetHostname(), Address: h.GetAddress()}
	}
	return out
}

func dnsToProto(d *DNSConfig) *pb.DNSConfig {
	if d == nil {
		return nil
	}
	return &pb.DNSConfig{Servers: d.Servers, Searches: d.Searches, Options: d.Options}
}

func dnsFromProto(d *pb.DNSConfig) *DNSConfig {
	if d == nil {
		return nil
	}
	return &DNSConfig{Servers: d.GetServers(), Searches: d.GetSearches(), Options: d.GetOptions()}
}
