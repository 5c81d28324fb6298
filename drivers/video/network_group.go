package video

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

// PauseImage is the image of the container that holds a group network
// namespace. drivers/video/pause/build-image.sh builds it.
// NOTE: the image is fixed; the plugin config has no option for it.
const PauseImage = "ferry/pause:0.1"

// Labels of a pause container. They differ from a task container's labels,
// so that the orphan sweep of task containers never removes one, and
// `docker ps --filter label=com.ferry-video.role=pause` lists them all.
const (
	labelRole           = labelPrefix + "role"
	rolePause           = "pause"
	labelNetworkAllocID = labelPrefix + "network_alloc_id"
)

// Spec labels that Nomad's network hook reads (checked in Nomad 2.0.6).
// From them it fills the tasks' hosts config with the pause container's
// hostname and the group's CNI address.
const (
	specLabelSandboxID = "docker_sandbox_container_id"
	specLabelHostname  = "docker_sandbox_hostname"
)

var _ plugins.NetworkManager = (*Driver)(nil)

// pauseContainerName is the one pause container name of an allocation, by
// which CreateNetwork finds the network again after a plugin restart.
func pauseContainerName(allocID string) string {
	return "ferry-pause-" + allocID
}

// CreateNetwork starts the allocation's pause container with no network of
// its own and returns its network namespace, which Nomad's CNI bridge then
// configures. A running pause container of the allocation is returned with
// created false. A stopped one, whose namespace is gone, is replaced.
func (d *Driver) CreateNetwork(ctx context.Context, allocID string, req *plugins.NetworkCreateRequest) (*plugins.NetworkIsolation, bool, error) {
	if err := validateAllocID(allocID); err != nil {
		return nil, false, err
	}
	hostname := ""
	if req != nil {
		hostname = req.Hostname
	}
	_, docker := d.state()
	if err := checkDocker(ctx, docker); err != nil {
		return nil, false, err
	}

	d.networkMu.Lock()
	defer d.networkMu.Unlock()

	existing, err := docker.ContainerInspect(ctx, pauseContainerName(allocID))
	switch {
	case err == nil && existing.State != nil && existing.State.Running:
		d.logger.Debug("found the group network", "alloc_id", allocID, "container_id", existing.ID)
		d.pauses.addAlloc(allocID)
		return networkSpec(existing, hostname), false, nil
	case err == nil:
		d.logger.Info("replacing stopped pause container", "alloc_id", allocID, "container_id", existing.ID)
		if err := removePause(ctx, docker, existing.ID); err != nil {
			return nil, false, err
		}
	case !client.IsErrNotFound(err):
		return nil, false, fmt.Errorf("inspect pause container of alloc %q: %w", allocID, err)
	}

	info, err := d.startPause(ctx, docker, allocID, hostname)
	if err != nil {
		return nil, false, err
	}
	d.pauses.addAlloc(allocID)
	d.logger.Info("created group network", "alloc_id", allocID, "container_id", info.ID, "path", info.NetworkSettings.SandboxKey)
	return networkSpec(info, hostname), true, nil
}

// startPause creates and starts the pause container and returns it
// inspected. On any failure it removes the container again.
func (d *Driver) startPause(ctx context.Context, docker *client.Client, allocID, hostname string) (container.InspectResponse, error) {
	if _, err := docker.ImageInspect(ctx, d.pauseImage); err != nil {
		if client.IsErrNotFound(err) {
			return container.InspectResponse{}, fmt.Errorf("pause image %q not found on this node: build it with drivers/video/pause/build-image.sh (make image)", d.pauseImage)
		}
		return container.InspectResponse{}, fmt.Errorf("inspect pause image %q: %w", d.pauseImage, err)
	}

	config := &container.Config{
		Image:    d.pauseImage,
		Hostname: hostname,
		Labels:   map[string]string{labelRole: rolePause, labelNetworkAllocID: allocID},
	}
	// Nomad's CNI plugins add the interfaces, so Docker adds none.
	host := &container.HostConfig{NetworkMode: "none"}
	created, err := docker.ContainerCreate(ctx, config, host, nil, nil, pauseContainerName(allocID))
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("create pause container of alloc %q: %w", allocID, err)
	}

	info, err := startAndInspect(ctx, docker, created.ID)
	if err != nil {
		if rmErr := removePause(context.WithoutCancel(ctx), docker, created.ID); rmErr != nil {
			d.logger.Error("failed to remove pause container after a failed start", "alloc_id", allocID, "container_id", created.ID, "error", rmErr)
		}
		return container.InspectResponse{}, fmt.Errorf("start pause container of alloc %q: %w", allocID, err)
	}
	return info, nil
}

func startAndInspect(ctx context.Context, docker *client.Client, id string) (container.InspectResponse, error) {
	if err := docker.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return container.InspectResponse{}, err
	}
	info, err := docker.ContainerInspect(ctx, id)
	if err != nil {
		return container.InspectResponse{}, err
	}
	if info.State == nil || !info.State.Running {
		return container.InspectResponse{}, errors.New("the pause container exited at once; check that the image runs a process that waits for a signal")
	}
	if info.NetworkSettings == nil || info.NetworkSettings.SandboxKey == "" {
		return container.InspectResponse{}, errors.New("dockerd returned no network namespace path (SandboxKey)")
	}
	return info, nil
}

// networkSpec describes the pause container's namespace for Nomad. The
// hostname label is set only when the group network names a hostname.
func networkSpec(info container.InspectResponse, hostname string) *plugins.NetworkIsolation {
	spec := &plugins.NetworkIsolation{
		Mode:   plugins.NetIsolationGroup,
		Labels: map[string]string{specLabelSandboxID: info.ID},
	}
	if info.NetworkSettings != nil {
		spec.Path = info.NetworkSettings.SandboxKey
	}
	if hostname != "" {
		spec.Labels[specLabelHostname] = hostname
	}
	return spec
}

// DestroyNetwork removes the allocation's pause container. Without a spec
// it looks the container up by name, and a missing container is not an
// error.
// NOTE: Nomad 2.0.6 sends DestroyNetwork to the plugin process that
// created the network. After that process crashes, the call fails with
// "plugin is shut down" and the pause container stays. The orphan sweep of
// the restarted plugin removes it once its alloc has had no task container
// for orphan_grace. A pause container carries no node id, so only a plugin
// that saw the alloc (in RecoverTask, StartTask or on a task container of
// its node) removes it. With orphan_grace = "0" it stays until it is removed
// by hand. A client agent restart in between makes Nomad ask again.
func (d *Driver) DestroyNetwork(ctx context.Context, allocID string, spec *plugins.NetworkIsolation) error {
	if err := validateAllocID(allocID); err != nil {
		return err
	}
	_, docker := d.state()

	d.networkMu.Lock()
	defer d.networkMu.Unlock()

	id := ""
	if spec != nil {
		id = spec.Labels[specLabelSandboxID]
	}
	if id == "" {
		id = pauseContainerName(allocID)
	}
	if err := removePause(ctx, docker, id); err != nil {
		return fmt.Errorf("destroy group network of alloc %q: %w", allocID, err)
	}
	d.pauses.forgetAlloc(allocID)
	d.logger.Info("destroyed group network", "alloc_id", allocID, "container_id", id)
	return nil
}

// removePause force-removes a pause container. A container that is already
// gone is not an error.
func removePause(ctx context.Context, docker *client.Client, id string) error {
	err := docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove pause container %q: %w", id, err)
	}
	return nil
}

// validateAllocID rejects ids that are empty or not valid in a container
// name. Nomad's alloc ids are UUIDs.
func validateAllocID(allocID string) error {
	if allocID == "" {
		return errors.New("missing alloc id for the group network")
	}
	valid := strings.IndexFunc(allocID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) < 0
	if !valid {
		return fmt.Errorf("invalid alloc id %q: only letters, digits, '-', '_' and '.' are allowed", allocID)
	}
	return nil
}

// inGroupNetwork reports whether Nomad placed the task in a group network
// namespace, which for this driver is always a pause container's.
func inGroupNetwork(cfg *plugins.TaskConfig) bool {
	n := cfg.NetIsolation
	return n != nil && n.Mode == plugins.NetIsolationGroup && n.Path != ""
}

// joinGroupNetwork sets the network mode of a task in a group network to
// Docker's container:<pause container id>. A network_mode set in the task
// config is kept, as Nomad's docker driver does.
// NOTE: the task then shares the pause container's /etc/hosts and
// /etc/resolv.conf, copied from the host, so the group's dns block and its
// hosts config (the group address) do not reach the task.
func joinGroupNetwork(cfg *plugins.TaskConfig, task *TaskConfig) error {
	if !inGroupNetwork(cfg) || task.NetworkMode != "" {
		return nil
	}
	id := cfg.NetIsolation.Labels[specLabelSandboxID]
	if id == "" {
		return fmt.Errorf("group network namespace %q has no %s label: the video driver can only join a namespace it created, so no other driver of the group may create it",
			cfg.NetIsolation.Path, specLabelSandboxID)
	}
	task.NetworkMode = "container:" + id
	return nil
}

// groupNetworkOverride returns the group's address, which Nomad's CNI
// plugins assigned, and the port of every group port label inside the
// shared namespace, whether or not the task's ports list names it. Nomad
// advertises them for address_mode "driver" only, as it does for its
// docker driver in bridge mode.
func groupNetworkOverride(cfg *plugins.TaskConfig) *plugins.NetworkOverride {
	override := &plugins.NetworkOverride{}
	if h := cfg.NetIsolation.Hosts; h != nil {
		override.Addr = h.Address
	}
	if cfg.Resources != nil && len(cfg.Resources.Ports) > 0 {
		override.PortMap = make(map[string]int32, len(cfg.Resources.Ports))
		for _, p := range cfg.Resources.Ports {
			override.PortMap[p.Label] = containerPort(p)
		}
	}
	if override.Addr == "" && override.PortMap == nil {
		return nil
	}
	return override
}

// checkGroupNetwork returns an error naming the allocation's pause container
// when the task joins a group network whose pause container is gone or
// stopped. Docker's own error ("cannot join network of a non running
// container") names neither the allocation nor what to do. The error is
// not recoverable: a new pause container would have a new namespace that
// Nomad's CNI plugins never configured, so only a new allocation helps.
func checkGroupNetwork(ctx context.Context, docker *client.Client, cfg *plugins.TaskConfig, task *TaskConfig) error {
	if !inGroupNetwork(cfg) {
		return nil
	}
	id := cfg.NetIsolation.Labels[specLabelSandboxID]
	if id == "" || task.NetworkMode != "container:"+id {
		return nil
	}
	info, err := docker.ContainerInspect(ctx, id)
	state := ""
	switch {
	case client.IsErrNotFound(err):
		state = "removed"
	case err != nil:
		// Docker's start error then gives the cause.
		return nil
	case !info.State.Running:
		state = info.State.Status
	default:
		return nil
	}
	return fmt.Errorf("group network of alloc %q is gone: its pause container %s (%s) is %s, so task %q cannot join it; stop the allocation so that Nomad reschedules it with a new group network",
		cfg.AllocID, pauseContainerName(cfg.AllocID), shortID(id), state, cfg.Name)
}
