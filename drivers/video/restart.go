package video

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// clearRestartPolicy sets the container's restart policy to "no" when the
// task has restart_on_boot, so that dockerd does not start the container
// again after the driver stops it. A container that no longer exists needs
// no update.
func (h *taskHandle) clearRestartPolicy(ctx context.Context) error {
	if !h.state.RestartOnBoot {
		return nil
	}
	_, err := h.docker.ContainerUpdate(ctx, h.state.ContainerID, container.UpdateConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	})
	if client.IsErrNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clear the restart policy of container %q: %w", h.state.ContainerID, err)
	}
	h.logger.Debug("cleared the restart policy")
	return nil
}

// stopRestartedContainer handles a restart_on_boot container whose process
// exited while the driver watched it. Nomad's restart policy owns restarts
// while the node runs, so the driver clears Docker's policy and stops the
// container, which also cancels a restart that Docker has scheduled. A stop
// of a container that is not running does nothing.
func (h *taskHandle) stopRestartedContainer(ctx context.Context) error {
	if err := h.clearRestartPolicy(ctx); err != nil {
		return err
	}
	timeout := 0
	err := h.docker.ContainerStop(ctx, h.state.ContainerID, container.StopOptions{Timeout: &timeout})
	if err != nil && !client.IsErrNotFound(err) {
		return fmt.Errorf("stop container %q restarted by Docker: %w", h.state.ContainerID, err)
	}
	return nil
}
