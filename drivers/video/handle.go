package video

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
)

// driverStateVersion is the format of driverState in TaskHandle.DriverState.
const driverStateVersion = 1

// Bounds of the pause before waiting on the container again after a failed
// container wait, such as during a dockerd restart. The pause doubles after
// each failure.
const (
	waitRetryMinDelay = time.Second
	waitRetryMaxDelay = 30 * time.Second
)

// driverState is everything RecoverTask needs, because Nomad drops the task's
// driver config from the handle after an agent restart.
type driverState struct {
	ContainerID string `json:"container_id"`
	Image       string `json:"image"`
	// PulledImage is set when the driver pulled Image for this task, which
	// makes the image a candidate for garbage collection.
	PulledImage bool      `json:"pulled_image,omitempty"`
	NodeID      string    `json:"node_id"`
	StartedAt   time.Time `json:"started_at"`
	// Network is the address and port map StartTask returned, which
	// InspectTask returns again after a recovery.
	Network *plugins.NetworkOverride `json:"network,omitempty"`
	// RestartOnBoot is set when the container has the restart policy
	// unless-stopped, which the driver clears before stopping it.
	RestartOnBoot bool `json:"restart_on_boot,omitempty"`
}

func decodeDriverState(handle *plugins.TaskHandle) (*driverState, error) {
	if handle.Version != driverStateVersion {
		return nil, fmt.Errorf("unsupported driver state version %d: this plugin reads version %d", handle.Version, driverStateVersion)
	}
	var state driverState
	if err := json.Unmarshal(handle.DriverState, &state); err != nil {
		return nil, fmt.Errorf("decode driver state: %w", err)
	}
	if state.ContainerID == "" {
		return nil, fmt.Errorf("invalid driver state: missing container id")
	}
	return &state, nil
}

// taskHandle is the driver's state of one task.
type taskHandle struct {
	cfg    *plugins.TaskConfig
	state  driverState
	docker *client.Client
	logger hclog.Logger
	clock  clock

	// cancel stops the wait and log goroutines.
	cancel context.CancelFunc
	// done is closed once result is set, and logsDone once the log copier
	// has stopped.
	done     chan struct{}
	logsDone <-chan struct{}

	mu          sync.Mutex
	result      *plugins.ExitResult
	completedAt time.Time
}

func newTaskHandle(d *Driver, docker *client.Client, cfg *plugins.TaskConfig, state driverState) *taskHandle {
	return &taskHandle{
		cfg:    cfg,
		state:  state,
		docker: docker,
		logger: d.logger.With("task_id", cfg.ID, "alloc_id", cfg.AllocID, "container_id", state.ContainerID),
		clock:  d.clock,
		done:   make(chan struct{}),
	}
}

// exitResult returns the result once the container has exited, or nil.
func (h *taskHandle) exitResult() *plugins.ExitResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.result
}

// watch waits for the container to exit and records its result.
func (h *taskHandle) watch(ctx context.Context) {
	backoff := reconnectBackoff{min: waitRetryMinDelay, max: waitRetryMaxDelay}
	for {
		result, err := h.waitOnce(ctx)
		if err == nil {
			h.setResult(result)
			return
		}
		if ctx.Err() != nil {
			return
		}
		delay := backoff.delay()
		h.logger.Warn("failed to wait for container, retrying", "delay", delay, "error", err)
		select {
		case <-ctx.Done():
			return
		case <-h.clock.After(delay):
		}
	}
}

func (h *taskHandle) waitOnce(ctx context.Context) (*plugins.ExitResult, error) {
	waitCh, errCh := h.docker.ContainerWait(ctx, h.state.ContainerID, container.WaitConditionNotRunning)
	var waited container.WaitResponse
	select {
	case waited = <-waitCh:
	case err := <-errCh:
		if client.IsErrNotFound(err) {
			return &plugins.ExitResult{ExitCode: -1, Err: fmt.Sprintf("container %s was removed outside Nomad", h.state.ContainerID)}, nil
		}
		return nil, err
	}

	if h.state.RestartOnBoot {
		// Docker may have restarted the container already, so the exit
		// code comes from the wait and not from a later inspect.
		if err := h.stopRestartedContainer(ctx); err != nil {
			return nil, err
		}
		return &plugins.ExitResult{ExitCode: int32(waited.StatusCode)}, nil
	}

	info, err := h.docker.ContainerInspect(ctx, h.state.ContainerID)
	if err != nil {
		return nil, fmt.Errorf("inspect exited container: %w", err)
	}
	if info.State.Running {
		return nil, fmt.Errorf("container %s still running after wait returned", h.state.ContainerID)
	}
	return &plugins.ExitResult{
		ExitCode:  int32(info.State.ExitCode),
		OOMKilled: info.State.OOMKilled,
	}, nil
}

func (h *taskHandle) setResult(result *plugins.ExitResult) {
	h.mu.Lock()
	if h.result != nil {
		h.mu.Unlock()
		return
	}
	h.result = result
	h.completedAt = h.clock.Now()
	h.mu.Unlock()

	close(h.done)
	h.logger.Info("container exited", "exit_code", result.ExitCode, "oom_killed", result.OOMKilled)
}

// taskStore maps task ids to handles.
type taskStore struct {
	mu    sync.RWMutex
	tasks map[string]*taskHandle
}

func newTaskStore() *taskStore {
	return &taskStore{tasks: make(map[string]*taskHandle)}
}

func (s *taskStore) get(id string) (*taskHandle, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.tasks[id]
	return h, ok
}

// add stores h unless a handle with its id exists, and reports whether it did.
func (s *taskStore) add(h *taskHandle) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[h.cfg.ID]; ok {
		return false
	}
	s.tasks[h.cfg.ID] = h
	return true
}

func (s *taskStore) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
}

func (d *Driver) handle(taskID string) (*taskHandle, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil, fmt.Errorf("task %q: %w", taskID, plugins.ErrTaskNotFound)
	}
	return h, nil
}
