package testdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// adoptPollInterval is how often a recovered task, which is not a child of
// this process and so cannot be waited for, is checked for exit.
const adoptPollInterval = 50 * time.Millisecond

type task struct {
	cfg       *plugins.TaskConfig
	pid       int
	startedAt time.Time

	done   chan struct{}
	mu     sync.Mutex
	result plugins.ExitResult
	ended  time.Time
}

func startProcess(cfg *plugins.TaskConfig, tc TaskConfig) (*task, error) {
	stdout, err := os.OpenFile(cfg.StdoutPath, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer stdout.Close()
	stderr, err := os.OpenFile(cfg.StderrPath, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()

	cmd := exec.Command(tc.Command, tc.Args...)
	cmd.Dir = cfg.TaskDir()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}

	t := &task{cfg: cfg, pid: cmd.Process.Pid, startedAt: time.Now(), done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		t.finish(exitResult(cmd.ProcessState, err))
	}()
	return t, nil
}

func exitResult(state *os.ProcessState, err error) plugins.ExitResult {
	if state == nil {
		return plugins.ExitResult{ExitCode: -1, Err: err.Error()}
	}
	if ws, ok := state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return plugins.ExitResult{ExitCode: -1, Signal: int32(ws.Signal())}
	}
	return plugins.ExitResult{ExitCode: int32(state.ExitCode())}
}

// adoptProcess tracks a process this plugin did not start. Its exit status
// is unknown, so it is reported as exit code 0.
func adoptProcess(cfg *plugins.TaskConfig, state driverState) *task {
	t := &task{cfg: cfg, pid: state.Pid, startedAt: state.StartedAt, done: make(chan struct{})}
	go func() {
		ticker := time.NewTicker(adoptPollInterval)
		defer ticker.Stop()
		for processAlive(t.pid) {
			<-ticker.C
		}
		t.finish(plugins.ExitResult{})
	}()
	return t
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func (t *task) finish(result plugins.ExitResult) {
	t.mu.Lock()
	t.result = result
	t.ended = time.Now()
	t.mu.Unlock()
	close(t.done)
}

func (t *task) exited() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the task's whole session.
func (t *task) signal(sig syscall.Signal) error {
	err := syscall.Kill(-t.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGKILL": syscall.SIGKILL, "SIGTERM": syscall.SIGTERM,
	"SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
}

func parseSignal(name string) (syscall.Signal, error) {
	if name == "" {
		return syscall.SIGTERM, nil
	}
	sig, ok := signals[name]
	if !ok {
		return 0, fmt.Errorf("unsupported signal %q", name)
	}
	return sig, nil
}

// WaitTask blocks until the task exits or ctx is done.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (*plugins.ExitResult, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	result := t.result
	return &result, nil
}

// StopTask sends signal, then SIGKILL after timeout, and waits for exit.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	if err := t.signal(sig); err != nil {
		return err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	}
	if err := t.signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DestroyTask removes a task, killing it first when force is set.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	t, err := d.task(taskID)
	if errors.Is(err, plugins.ErrTaskNotFound) {
		return nil
	}
	if !t.exited() {
		if !force {
			return fmt.Errorf("task %q is still running", taskID)
		}
		if err := d.StopTask(ctx, taskID, 0, "SIGKILL"); err != nil {
			return err
		}
	}
	d.mu.Lock()
	delete(d.tasks, taskID)
	d.mu.Unlock()
	return nil
}

// InspectTask returns the task's status.
func (d *Driver) InspectTask(_ context.Context, taskID string) (*plugins.TaskStatus, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	status := &plugins.TaskStatus{
		ID: taskID, Name: t.cfg.Name, State: plugins.TaskStateRunning, StartedAt: t.startedAt,
		Attributes: map[string]string{"pid": strconv.Itoa(t.pid)},
	}
	if t.exited() {
		t.mu.Lock()
		status.State, status.CompletedAt, status.Result = plugins.TaskStateExited, t.ended, t.result
		t.mu.Unlock()
	}
	return status, nil
}

// SignalTask sends a named signal to the task.
func (d *Driver) SignalTask(_ context.Context, taskID string, signal string) error {
	t, err := d.task(taskID)
	if err != nil {
		return err
	}
	sig, err := parseSignal(signal)
	if err != nil {
		return err
	}
	return t.signal(sig)
}
