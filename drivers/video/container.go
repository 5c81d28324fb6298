package video

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
)

// Container labels that tie a container to the Nomad client and task that
// own it, so that clients sharing one dockerd leave each other's containers
// alone.
const (
	labelPrefix   = "com.ferry-video."
	labelNodeID   = labelPrefix + "node_id"
	labelAllocID  = labelPrefix + "alloc_id"
	labelTaskName = labelPrefix + "task_name"
	labelTaskID   = labelPrefix + "task_id"
)

// containerSpec is everything ContainerCreate needs.
type containerSpec struct {
	name   string
	config *container.Config
	host   *container.HostConfig
}

// buildContainerSpec turns a validated task config into a container spec.
// The snapshot is the node's camera inventory, and staged maps the cameras
// copied from peers to their folders in the task dir.
func buildContainerSpec(plugin *PluginConfig, cfg *plugins.TaskConfig, task *TaskConfig, snap inventory.Snapshot, staged map[string]string) (*containerSpec, error) {
	mounts, err := buildMounts(plugin, cfg, task, snap, staged)
	if err != nil {
		return nil, err
	}
	exposed, bindings, err := buildPorts(cfg, task)
	if err != nil {
		return nil, err
	}

	config := &container.Config{
		Image:        task.Image,
		Env:          buildEnv(cfg),
		Labels:       buildLabels(cfg, task),
		ExposedPorts: exposed,
	}
	if len(task.Entrypoint) > 0 {
		config.Entrypoint = task.Entrypoint
	}
	if task.Command != "" {
		config.Cmd = append([]string{task.Command}, task.Args...)
	} else if len(task.Args) > 0 {
		config.Cmd = task.Args
	}

	host := &container.HostConfig{
		Mounts:        mounts,
		PortBindings:  bindings,
		NetworkMode:   container.NetworkMode(task.NetworkMode),
		ShmSize:       task.ShmSize,
		Privileged:    task.Privileged,
		Resources:     buildResources(cfg),
		RestartPolicy: restartPolicy(task),
	}
	return &containerSpec{name: containerName(cfg), config: config, host: host}, nil
}

// containerName is unique per task run, because Nomad gives every start a
// new task id of the form <alloc id>/<task name>/<random hex>. Docker accepts
// only [a-zA-Z0-9][a-zA-Z0-9_.-]* in names, so other characters (the slashes,
// and any in the task name) become dashes.
func containerName(cfg *plugins.TaskConfig) string {
	run := cfg.ID
	if i := strings.LastIndexByte(run, '/'); i >= 0 {
		run = run[i+1:]
	}
	name := fmt.Sprintf("%s-%s-%s", cfg.Name, cfg.AllocID, run)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '-'
	}, strings.TrimLeft(name, "_.-"))
}

func buildEnv(cfg *plugins.TaskConfig) []string {
	env := make([]string, 0, len(cfg.Env)+len(cfg.DeviceEnv))
	for k, v := range cfg.Env {
		env = append(env, k+"="+v)
	}
	for k, v := range cfg.DeviceEnv {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

func buildLabels(cfg *plugins.TaskConfig, task *TaskConfig) map[string]string {
	labels := make(map[string]string, len(task.labels)+4)
	for k, v := range task.labels {
		labels[k] = v
	}
	labels[labelNodeID] = cfg.NodeID
	labels[labelAllocID] = cfg.AllocID
	labels[labelTaskName] = cfg.Name
	labels[labelTaskID] = cfg.ID
	return labels
}

// buildResources maps Nomad's resources to container limits and its
// allocated devices to device nodes with their cgroup permissions. With a
// memory max, the max is the hard limit and the reservation is the soft
// one.
func buildResources(cfg *plugins.TaskConfig) container.Resources {
	var res container.Resources
	for _, dev := range cfg.Devices {
		res.Devices = append(res.Devices, container.DeviceMapping{
			PathOnHost:        dev.HostPath,
			PathInContainer:   dev.TaskPath,
			CgroupPermissions: dev.Permissions,
		})
	}
	r := cfg.Resources
	if r == nil {
		return res
	}
	res.CPUShares = r.CPUShares
	res.CpusetCpus = r.CPUSetCPUs
	res.Memory = r.MemoryMB * 1024 * 1024
	if r.MemoryMaxMB > r.MemoryMB {
		res.Memory = r.MemoryMaxMB * 1024 * 1024
		res.MemoryReservation = r.MemoryMB * 1024 * 1024
	}
	return res
}

func bindMount(source, target string, readOnly bool) mount.Mount {
	return mount.Mount{Type: mount.TypeBind, Source: source, Target: target, ReadOnly: readOnly}
}

// buildMounts returns the task directories, the camera folders, the task's
// volumes and Nomad's mounts, in that order.
func buildMounts(plugin *PluginConfig, cfg *plugins.TaskConfig, task *TaskConfig, snap inventory.Snapshot, staged map[string]string) ([]mount.Mount, error) {
	mounts := []mount.Mount{
		bindMount(filepath.Join(cfg.AllocDir, "alloc"), "/alloc", false),
		bindMount(filepath.Join(cfg.TaskDir(), "local"), "/local", false),
		bindMount(filepath.Join(cfg.TaskDir(), "secrets"), "/secrets", false),
	}

	for _, id := range task.Cameras {
		if dir, ok := staged[id]; ok {
			mounts = append(mounts, bindMount(dir, filepath.Join(task.RecordingsPath, id), true))
			continue
		}
		cam, ok := snap.Camera(id)
		if !ok {
			return nil, fmt.Errorf("camera %q in cameras has no recordings on this node (it stores: %s): constrain the job with ${attr.driver.video.cameras} set_contains %q, or set staging.peers in the video plugin config",
				id, storedCameras(snap), id)
		}
		// NOTE: a camera present under several storage roots is mounted
		// from the first root only.
		mounts = append(mounts, bindMount(cam.Dirs[0], filepath.Join(task.RecordingsPath, id), true))
	}

	for _, volume := range task.Volumes {
		m, err := parseVolume(volume, plugin.AllowedHostPaths)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, m)
	}

	for _, m := range cfg.Mounts {
		nm := bindMount(m.HostPath, m.TaskPath, m.ReadOnly)
		nm.BindOptions = &mount.BindOptions{Propagation: propagation(m.PropagationMode)}
		mounts = append(mounts, nm)
	}
	return mounts, nil
}

func propagation(mode string) mount.Propagation {
	switch mode {
	case "host-to-task":
		return mount.PropagationRSlave
	case "bidirectional":
		return mount.PropagationRShared
	}
	return mount.PropagationRPrivate
}

// parseVolume parses "host:container[:ro]" and checks that the host path,
// after resolving symbolic links, is inside one of the allowed roots.
func parseVolume(volume string, allowed []string) (mount.Mount, error) {
	parts := strings.Split(volume, ":")
	if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro" && parts[2] != "rw") {
		return mount.Mount{}, fmt.Errorf("invalid volume %q: use \"host_path:container_path\" with an optional \":ro\"", volume)
	}
	host, target := parts[0], parts[1]
	if !filepath.IsAbs(host) || !filepath.IsAbs(target) {
		return mount.Mount{}, fmt.Errorf("invalid volume %q: both paths must be absolute", volume)
	}
	resolved, err := filepath.EvalSymlinks(host)
	if err != nil {
		return mount.Mount{}, fmt.Errorf("invalid volume %q: host path: %w", volume, err)
	}
	if !insideAny(resolved, allowed) {
		return mount.Mount{}, fmt.Errorf("invalid volume %q: host path %q is outside allowed_host_paths [%s]: use a path under one of them, or add its folder to allowed_host_paths in the video plugin config",
			volume, resolved, strings.Join(allowed, ", "))
	}
	return bindMount(resolved, target, len(parts) == 3 && parts[2] == "ro"), nil
}

func insideAny(path string, roots []string) bool {
	for _, root := range roots {
		if resolvedRoot, err := filepath.EvalSymlinks(root); err == nil {
			root = resolvedRoot
		}
		rel, err := filepath.Rel(root, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator)) {
			return true
		}
	}
	return false
}

// restartPolicy is unless-stopped with restart_on_boot, so that dockerd
// starts the container at boot, and "no" otherwise. Docker also applies
// unless-stopped when the process exits, so the driver clears the policy
// before it stops or removes the container.
func restartPolicy(task *TaskConfig) container.RestartPolicy {
	if task.RestartOnBoot {
		return container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}
	}
	return container.RestartPolicy{Name: container.RestartPolicyDisabled}
}

// checkDevices returns an error naming the first device Nomad allocated to
// the task whose host node is gone, such as a camera unplugged after its
// device plugin reserved it.
func checkDevices(devices []plugins.Device) error {
	for _, dev := range devices {
		if _, err := os.Stat(dev.HostPath); err != nil {
			return fmt.Errorf("device %q (task path %q) not found on the host: %w: it was removed after Nomad reserved it; reconnect the device and restart the allocation",
				dev.HostPath, dev.TaskPath, err)
		}
	}
	return nil
}

// storedCameras lists the node's camera ids for a message, or "none".
func storedCameras(snap inventory.Snapshot) string {
	if ids := snap.SanitizedIDs(); len(ids) > 0 {
		return strings.Join(ids, ", ")
	}
	return "none"
}
