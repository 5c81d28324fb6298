// Package testdriver is a small driver that runs shell commands, used to
// test the protocol layer and the harness end to end. Its tasks run in
// their own session so that they outlive the plugin process, and it
// recovers them from the PID stored in the driver state.
package testdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// Name is the plugin and driver name.
const Name = "testdriver"

// TaskConfig is the task config block.
type TaskConfig struct {
	Command string   `codec:"command"`
	Args    []string `codec:"args"`
	// StartError makes StartTask fail: "recoverable" or "fatal".
	StartError string `codec:"start_error"`
}

type agentConfig struct {
	Shell string `codec:"shell"`
}

// driverState is stored by Nomad in the task handle.
type driverState struct {
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
}

// Driver implements plugins.Driver.
type Driver struct {
	mu     sync.Mutex
	config agentConfig
	tasks  map[string]*task
	events chan *plugins.TaskEvent
}

var _ plugins.Driver = (*Driver)(nil)

// New returns a driver with no tasks.
func New() *Driver {
	return &Driver{tasks: map[string]*task{}, events: make(chan *plugins.TaskEvent, 16)}
}

// Info returns the plugin identity.
func (d *Driver) Info() plugins.Info {
	return plugins.Info{Type: plugins.PluginTypeDriver, Name: Name, Version: "0.1.0"}
}

// ConfigSpec returns the agent config schema.
func (d *Driver) ConfigSpec() *hclspec.Spec {
	return hclspec.Object(map[string]*hclspec.Spec{
		"shell": hclspec.Default(hclspec.Attr("shell", "string"), hclspec.Literal(`"/bin/sh"`)),
	})
}

// SetConfig decodes the agent config.
func (d *Driver) SetConfig(msgpack []byte, _ *plugins.AgentConfig) error {
	dumpPayload("setconfig.msgpack", msgpack)
	var cfg agentConfig
	if err := plugins.DecodeConfig(msgpack, &cfg); err != nil {
		return err
	}
	d.mu.Lock()
	d.config = cfg
	d.mu.Unlock()
	return nil
}

// TaskConfigSpec returns the task config schema.
func (d *Driver) TaskConfigSpec() *hclspec.Spec {
	return hclspec.Object(map[string]*hclspec.Spec{
		"command":     hclspec.RequiredAttr("command", "string"),
		"args":        hclspec.Attr("args", "list(string)"),
		"start_error": hclspec.Attr("start_error", "string"),
	})
}

// Capabilities returns the driver's capabilities.
func (d *Driver) Capabilities() plugins.Capabilities {
	return plugins.Capabilities{SendSignals: true, Exec: true, NoMounts: true}
}

// Fingerprint sends one healthy fingerprint and keeps the channel open
// until ctx is done.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *plugins.Fingerprint, error) {
	ch := make(chan *plugins.Fingerprint, 1)
	ch <- &plugins.Fingerprint{
		Health:      plugins.HealthHealthy,
		Description: "Healthy",
		Attributes:  map[string]plugins.Attribute{"driver.testdriver.version": plugins.StringAttribute("0.1.0")},
	}
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// StartTask runs the task's command in a new session with its output on
// the task's log FIFOs.
func (d *Driver) StartTask(_ context.Context, cfg *plugins.TaskConfig) (*plugins.TaskHandle, *plugins.NetworkOverride, error) {
	dumpPayload("starttask.msgpack", cfg.DriverConfig)
	var tc TaskConfig
	if err := plugins.DecodeConfig(cfg.DriverConfig, &tc); err != nil {
		return nil, nil, err
	}
	switch tc.StartError {
	case "recoverable":
		return nil, nil, plugins.Recoverable(errors.New("start failed, try again"))
	case "fatal":
		return nil, nil, errors.New("start failed for good")
	}

	t, err := startProcess(cfg, tc)
	if err != nil {
		return nil, nil, fmt.Errorf("start task %q: %w", cfg.ID, err)
	}
	d.track(cfg, t)

	state, err := json.Marshal(driverState{Pid: t.pid, StartedAt: t.startedAt})
	if err != nil {
		return nil, nil, err
	}
	handle := &plugins.TaskHandle{Version: 1, Config: cfg, State: plugins.TaskStateRunning, DriverState: state}
	return handle, nil, nil
}

func (d *Driver) track(cfg *plugins.TaskConfig, t *task) {
	d.mu.Lock()
	d.tasks[cfg.ID] = t
	d.mu.Unlock()
	event := &plugins.TaskEvent{
		TaskID: cfg.ID, AllocID: cfg.AllocID, TaskName: cfg.Name,
		Timestamp: time.Now(), Message: "task started",
	}
	select {
	case d.events <- event:
	default:
	}
}

// RecoverTask tracks a task started by an earlier plugin process.
func (d *Driver) RecoverTask(_ context.Context, handle *plugins.TaskHandle) error {
	id := handle.Config.ID
	if _, err := d.task(id); err == nil {
		return nil
	}
	var state driverState
	if err := json.Unmarshal(handle.DriverState, &state); err != nil {
		return fmt.Errorf("recover task %q: invalid driver state: %w", id, err)
	}
	d.track(handle.Config, adoptProcess(handle.Config, state))
	return nil
}

func (d *Driver) task(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, plugins.ErrTaskNotFound
	}
	return t, nil
}

// dumpPayload writes data to name in the directory named by
// FERRY_TESTDRIVER_DUMP_DIR, when that is set, so that real payloads from a
// Nomad client can be captured as test data.
func dumpPayload(name string, data []byte) {
	dir := os.Getenv("FERRY_TESTDRIVER_DUMP_DIR")
	if dir == "" || len(data) == 0 {
		return
	}
	os.WriteFile(filepath.Join(dir, name), data, 0o644)
}
