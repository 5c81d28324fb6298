package video

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/ferry-video/ferry/plugins"
)

// networkModeHost is the Docker network mode that shares the host's network
// namespace, where ports need no publishing and the task has no own address.
const networkModeHost = "host"

// taskPorts returns the group network ports that the task's ports list
// names, in that order. A label the group network does not define is an
// error that lists the defined ones.
func taskPorts(cfg *plugins.TaskConfig, task *TaskConfig) ([]plugins.PortMapping, error) {
	if len(task.Ports) == 0 {
		return nil, nil
	}
	byLabel := make(map[string]plugins.PortMapping)
	if cfg.Resources != nil {
		for _, p := range cfg.Resources.Ports {
			byLabel[p.Label] = p
		}
	}

	ports := make([]plugins.PortMapping, 0, len(task.Ports))
	for _, label := range task.Ports {
		p, ok := byLabel[label]
		if !ok {
			return nil, fmt.Errorf("port %q in ports is not defined by the group network (defined: %s): add it to the group's network block or remove it from ports",
				label, definedLabels(byLabel))
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func definedLabels(byLabel map[string]plugins.PortMapping) string {
	if len(byLabel) == 0 {
		return "none"
	}
	labels := make([]string, 0, len(byLabel))
	for label := range byLabel {
		labels = append(labels, label)
	}
	sort.Strings(labels)
	return strings.Join(labels, ", ")
}

// containerPort is the port the task listens on: the mapping's `to`, or the
// host port when `to` is unset.
func containerPort(p plugins.PortMapping) int32 {
	if p.To > 0 {
		return p.To
	}
	return p.Value
}

// buildPorts publishes each port of the task's ports list on its host port
// and host IP, mapped to the container port, over TCP and UDP. In host
// network mode nothing is published, because the task binds the host's
// ports itself. In a group network it sets the task's network mode to join
// the pause container, and publishes nothing either, because Nomad's CNI
// port mapping forwards the group's ports into the shared namespace.
func buildPorts(cfg *plugins.TaskConfig, task *TaskConfig) (nat.PortSet, nat.PortMap, error) {
	if err := joinGroupNetwork(cfg, task); err != nil {
		return nil, nil, err
	}
	ports, err := taskPorts(cfg, task)
	if err != nil || len(ports) == 0 || task.NetworkMode == networkModeHost || inGroupNetwork(cfg) {
		return nil, nil, err
	}

	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for _, p := range ports {
		hostPort := strconv.Itoa(int(p.Value))
		for _, proto := range []string{"tcp", "udp"} {
			port := nat.Port(fmt.Sprintf("%d/%s", containerPort(p), proto))
			exposed[port] = struct{}{}
			bindings[port] = append(bindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: hostPort})
		}
	}
	return exposed, bindings, nil
}

// networkOverride returns the container's address on its Docker network and
// the container port of each label in the task's ports list. Nomad
// advertises the address to services unless the task shares the host's
// network. It returns nil when there is neither an address nor a port.
func networkOverride(info container.InspectResponse, cfg *plugins.TaskConfig, task *TaskConfig) *plugins.NetworkOverride {
	if inGroupNetwork(cfg) {
		return groupNetworkOverride(cfg)
	}
	ports, _ := taskPorts(cfg, task)
	override := &plugins.NetworkOverride{
		Addr:          containerAddr(info, task.NetworkMode),
		AutoAdvertise: task.NetworkMode != networkModeHost,
	}
	if len(ports) > 0 {
		override.PortMap = make(map[string]int32, len(ports))
		for _, p := range ports {
			override.PortMap[p.Label] = containerPort(p)
		}
	}
	if override.Addr == "" && override.PortMap == nil {
		return nil
	}
	return override
}

// containerAddr returns the container's IP address on the network of its
// network mode, or on its only network when the mode is Docker's default.
func containerAddr(info container.InspectResponse, mode string) string {
	if info.NetworkSettings == nil || mode == networkModeHost {
		return ""
	}
	if mode == "" || mode == "default" {
		mode = "bridge"
	}
	if ep, ok := info.NetworkSettings.Networks[mode]; ok && ep != nil && ep.IPAddress != "" {
		return ep.IPAddress
	}
	for _, ep := range info.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress != "" {
			return ep.IPAddress
		}
	}
	return ""
}
