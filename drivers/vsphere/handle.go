package vsphere

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// driverStateVersion is the format of taskState in a task handle.
const driverStateVersion = 1

// taskState is the part of a task that Nomad stores in its handle and gives
// back to RecoverTask.
type taskState struct {
	// VMID is the VM's managed object id, such as "vm-42".
	VMID      string    `json:"vm_id"`
	VMName    string    `json:"vm_name"`
	StopMode  string    `json:"stop_mode"`
	StartedAt time.Time `json:"started_at"`
}

func (s taskState) ref() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "VirtualMachine", Value: s.VMID}
}

func decodeTaskState(handle *plugins.TaskHandle) (taskState, error) {
	var s taskState
	if handle.Version != driverStateVersion {
		return s, fmt.Errorf("task handle version %d is not supported: this driver writes version %d", handle.Version, driverStateVersion)
	}
	if err := json.Unmarshal(handle.DriverState, &s); err != nil {
		return s, fmt.Errorf("decode driver state of task %q: %w", handle.Config.ID, err)
	}
	return s, nil
}

// taskHandle is one task's VM and exit state.
type taskHandle struct {
	cfg   *plugins.TaskConfig
	state taskState
	// stop ends the power state watcher.
	stop func()
	// done is closed when the VM has powered off or was deleted.
	done chan struct{}

	mu          sync.Mutex
	exit        *plugins.ExitResult
	completedAt time.Time
}

func newTaskHandle(cfg *plugins.TaskConfig, state taskState) *taskHandle {
	return &taskHandle{cfg: cfg, state: state, stop: func() {}, done: make(chan struct{})}
}

// setExit records the exit once and wakes every WaitTask.
func (h *taskHandle) setExit(res *plugins.ExitResult, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.exit != nil {
		return
	}
	h.exit, h.completedAt = res, at
	close(h.done)
}

func (h *taskHandle) exitResult() *plugins.ExitResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.exit
}

func (h *taskHandle) status() *plugins.TaskStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := &plugins.TaskStatus{
		ID:        h.cfg.ID,
		Name:      h.cfg.Name,
		State:     plugins.TaskStateRunning,
		StartedAt: h.state.StartedAt,
		Attributes: map[string]string{
			"vm_id":   h.state.VMID,
			"vm_name": h.state.VMName,
		},
	}
	if h.exit != nil {
		st.State = plugins.TaskStateExited
		st.CompletedAt = h.completedAt
		st.Result = *h.exit
	}
	return st
}

func (h *taskHandle) toPlugin() (*plugins.TaskHandle, error) {
	data, err := json.Marshal(h.state)
	if err != nil {
		return nil, fmt.Errorf("encode driver state of task %q: %w", h.cfg.ID, err)
	}
	return &plugins.TaskHandle{
		Version:     driverStateVersion,
		Config:      h.cfg,
		State:       plugins.TaskStateRunning,
		DriverState: data,
	}, nil
}

// taskStore holds the tracked tasks by task id.
type taskStore struct {
	mu    sync.RWMutex
	tasks map[string]*taskHandle
	// starting are the ids of tasks whose StartTask is in flight, so that
	// their half-made VMs are not taken for orphans.
	starting map[string]bool
}

func newTaskStore() *taskStore {
	return &taskStore{tasks: make(map[string]*taskHandle), starting: make(map[string]bool)}
}

// reserve marks id as starting unless it is tracked or starting already.
func (s *taskStore) reserve(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[id]; ok || s.starting[id] {
		return false
	}
	s.starting[id] = true
	return true
}

func (s *taskStore) release(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.starting, id)
}

func (s *taskStore) get(id string) (*taskHandle, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	h, ok := s.tasks[id]
	return h, ok
}

// add stores h unless a task with its id exists, and reports whether it did.
func (s *taskStore) add(h *taskHandle) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[h.cfg.ID]; ok {
		return false
	}
	s.tasks[h.cfg.ID] = h
	return true
}

func (s *taskStore) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, id)
}

// known reports whether a task id is tracked.
func (s *taskStore) known(id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.tasks[id]
	return ok || s.starting[id]
}

// owns reports whether a tracked or starting task made the VM. A VM known
// only by its custom attributes matches a tracked task by allocation id
// and task name.
func (s *taskStore) owns(vm taggedVM) bool {
	if vm.taskID != "" {
		return s.known(vm.taskID)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, h := range s.tasks {
		if vm.belongsTo(h.cfg) {
			return true
		}
	}
	return false
}
