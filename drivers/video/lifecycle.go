package video

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

// defaultStopSignal is the signal StopTask sends when Nomad gives no
// kill_signal, the same default as Docker.
const defaultStopSignal = "SIGTERM"

// logDrainTimeout bounds how long DestroyTask waits for the log copier to
// reach the end of the container's output.
const logDrainTimeout = 5 * time.Second

// StartTask pulls the image if needed, creates and starts the container, and
// starts copying its logs.
func (d *Driver) StartTask(ctx context.Context, cfg *plugins.TaskConfig) (*plugins.TaskHandle, *plugins.NetworkOverride, error) {
	if _, ok := d.tasks.get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task %q is already started", cfg.ID)
	}
	// The orphan sweep keeps the alloc's pause container while the task
	// has no container yet.
	d.pauses.beginStart(cfg.AllocID)
	defer d.pauses.endStart(cfg.AllocID)
	plugin, docker := d.state()
	task := &TaskConfig{}
	if err := plugins.DecodeConfig(cfg.DriverConfig, task); err != nil {
		return nil, nil, fmt.Errorf("decode task config: %w", err)
	}
	if err := task.validate(plugin); err != nil {
		return nil, nil, err
	}
	if err := checkDocker(ctx, docker); err != nil {
		return nil, nil, err
	}
	snap, err := d.scanInventory()
	if err != nil {
		d.logger.Warn("camera storage scan incomplete", "task_id", cfg.ID, "error", err)
	}
	staged, err := d.stageMissingCameras(ctx, plugin, cfg, task, snap)
	if err != nil {
		return nil, nil, err
	}
	spec, err := buildContainerSpec(plugin, cfg, task, snap, staged)
	if err != nil {
		return nil, nil, err
	}
	if err := addAccelerators(spec.host, task, d.host); err != nil {
		return nil, nil, err
	}
	if err := checkDevices(cfg.Devices); err != nil {
		return nil, nil, err
	}
	pulled, err := d.ensureImage(ctx, docker, cfg, task)
	if err != nil {
		return nil, nil, err
	}

	d.orphans.addNode(cfg.NodeID)
	d.lifecycleMu.RLock()
	defer d.lifecycleMu.RUnlock()
	if err := d.removeLeftovers(ctx, docker, cfg); err != nil {
		return nil, nil, err
	}
	if err := checkGroupNetwork(ctx, docker, cfg, task); err != nil {
		return nil, nil, err
	}
	info, err := createAndStart(ctx, docker, spec)
	if err != nil {
		return nil, nil, err
	}

	state := driverState{
		ContainerID: info.ID,
		Image:       task.Image,
		PulledImage: pulled,
		NodeID:      cfg.NodeID,
		StartedAt:   d.clock.Now(),
		Network:     networkOverride(info, cfg, task),
		// Set only when the container has the restart policy.
		RestartOnBoot: task.RestartOnBoot,
	}
	d.track(docker, cfg, state)
	d.logger.Info("started container", "task_id", cfg.ID, "alloc_id", cfg.AllocID, "container_id", info.ID, "image", task.Image)

	handle, err := encodeHandle(cfg, state)
	if err != nil {
		return nil, nil, err
	}
	return handle, state.Network, nil
}

// createAndStart creates and starts the container and removes it again if
// the start fails, so that a failed start leaves nothing behind.
func createAndStart(ctx context.Context, docker *client.Client, spec *containerSpec) (container.InspectResponse, error) {
	created, err := docker.ContainerCreate(ctx, spec.config, spec.host, nil, nil, spec.name)
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("create container %q: %w", spec.name, err)
	}
	if err := docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		removeErr := docker.ContainerRemove(context.WithoutCancel(ctx), created.ID, container.RemoveOptions{Force: true})
		if removeErr != nil {
			return container.InspectResponse{}, fmt.Errorf("start container %q: %w (removing it also failed: %v)", spec.name, err, removeErr)
		}
		return container.InspectResponse{}, fmt.Errorf("start container %q: %w", spec.name, err)
	}
	info, err := docker.ContainerInspect(ctx, created.ID)
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspect container %q: %w", created.ID, err)
	}
	return info, nil
}

// track registers a handle for a created container and starts its wait and
// log goroutines.
func (d *Driver) track(docker *client.Client, cfg *plugins.TaskConfig, state driverState) *taskHandle {
	h := newTaskHandle(d, docker, cfg, state)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.logsDone = d.startLogCopier(ctx, h)
	d.tasks.add(h)
	go h.watch(ctx)
	return h
}

func encodeHandle(cfg *plugins.TaskConfig, state driverState) (*plugins.TaskHandle, error) {
	data, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode driver state: %w", err)
	}
	return &plugins.TaskHandle{
		Version:     driverStateVersion,
		Config:      cfg,
		State:       plugins.TaskStateRunning,
		DriverState: data,
	}, nil
}

// RecoverTask re-attaches to the container named in the handle's driver
// state without restarting it.
func (d *Driver) RecoverTask(ctx context.Context, handle *plugins.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return fmt.Errorf("invalid task handle: missing task config")
	}
	if _, ok := d.tasks.get(handle.Config.ID); ok {
		return nil
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		return fmt.Errorf("recover task %q: %w", handle.Config.ID, err)
	}

	d.orphans.addNode(handle.Config.NodeID)
	d.pauses.addAlloc(handle.Config.AllocID)
	d.lifecycleMu.RLock()
	defer d.lifecycleMu.RUnlock()
	_, docker := d.state()
	info, err := docker.ContainerInspect(ctx, state.ContainerID)
	if err != nil {
		return fmt.Errorf("recover task %q: inspect container %q: %w", handle.Config.ID, state.ContainerID, err)
	}
	if owner := info.Config.Labels[labelNodeID]; owner != handle.Config.NodeID {
		return fmt.Errorf("recover task %q: container %q belongs to node %q, not %q", handle.Config.ID, state.ContainerID, owner, handle.Config.NodeID)
	}

	d.track(docker, handle.Config, *state)
	d.logger.Info("recovered task", "task_id", handle.Config.ID, "alloc_id", handle.Config.AllocID,
		"container_id", state.ContainerID, "running", info.State.Running)
	return nil
}

// WaitTask blocks until the container exits or ctx is done.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (*plugins.ExitResult, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	select {
	case <-h.done:
		result := *h.exitResult()
		return &result, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// StopTask sends signal, waits up to timeout for the exit, then kills the
// container.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	h, err := d.handle(taskID)
	if err != nil {
		return err
	}
	if h.exitResult() != nil {
		return nil
	}
	if signal == "" {
		signal = defaultStopSignal
	}
	if err := h.clearRestartPolicy(ctx); err != nil {
		return err
	}

	if err := h.docker.ContainerKill(ctx, h.state.ContainerID, signal); err != nil && h.exitResult() == nil {
		h.logger.Warn("failed to send stop signal, killing", "signal", signal, "error", err)
		timeout = 0
	}
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-h.clock.After(timeout):
	}

	h.logger.Info("container did not stop in time, killing", "timeout", timeout)
	if err := h.docker.ContainerKill(ctx, h.state.ContainerID, "SIGKILL"); err != nil && h.exitResult() == nil && h.stillRunning(ctx) {
		return fmt.Errorf("kill container %q: %w", h.state.ContainerID, err)
	}
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stillRunning reports whether Docker reports the container running, so
// that a kill that lost the race with the container's own exit is no error.
func (h *taskHandle) stillRunning(ctx context.Context) bool {
	info, err := h.docker.ContainerInspect(ctx, h.state.ContainerID)
	return err != nil || info.State.Running
}

// DestroyTask removes the container and stops tracking the task. It succeeds for a
// task that is not tracked, so that repeated calls are harmless.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil
	}
	if h.exitResult() == nil && !force {
		return fmt.Errorf("task %q is still running: stop it first or destroy with force", taskID)
	}
	if err := h.clearRestartPolicy(ctx); err != nil {
		return err
	}
	if h.exitResult() != nil {
		h.drainLogs()
	}

	err := h.docker.ContainerRemove(ctx, h.state.ContainerID, container.RemoveOptions{Force: true})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("remove container %q: %w", h.state.ContainerID, err)
	}
	h.cancel()
	d.tasks.remove(taskID)
	if h.state.PulledImage {
		d.gc.schedule(h.state.Image)
	}
	h.logger.Info("destroyed task")
	return nil
}

// drainLogs waits a bounded time for the log copier to copy the output of
// an exited container.
func (h *taskHandle) drainLogs() {
	select {
	case <-h.logsDone:
	case <-h.clock.After(logDrainTimeout):
		h.logger.Warn("log copier did not finish before removal", "timeout", logDrainTimeout)
	}
}

// SignalTask sends a signal, given by name such as "SIGHUP", to the task.
func (d *Driver) SignalTask(ctx context.Context, taskID string, signal string) error {
	h, err := d.handle(taskID)
	if err != nil {
		return err
	}
	if err := h.docker.ContainerKill(ctx, h.state.ContainerID, signal); err != nil {
		return fmt.Errorf("send %s to container %q: %w", signal, h.state.ContainerID, err)
	}
	return nil
}

// InspectTask returns the task's state and exit result.
func (d *Driver) InspectTask(_ context.Context, taskID string) (*plugins.TaskStatus, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	status := &plugins.TaskStatus{
		ID:         taskID,
		Name:       h.cfg.Name,
		State:      plugins.TaskStateRunning,
		StartedAt:  h.state.StartedAt,
		Attributes: map[string]string{"container_id": h.state.ContainerID},
		Network:    h.state.Network,
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.result != nil {
		status.State = plugins.TaskStateExited
		status.Result = *h.result
		status.CompletedAt = h.completedAt
	}
	return status, nil
}
