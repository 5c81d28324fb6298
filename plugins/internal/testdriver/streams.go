package testdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// TaskStats sends an empty sample every interval.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *plugins.TaskResourceUsage, error) {
	if _, err := d.task(taskID); err != nil {
		return nil, err
	}
	ch := make(chan *plugins.TaskResourceUsage)
	go func() {
		defer close(ch)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			sample := &plugins.TaskResourceUsage{Timestamp: time.Now()}
			select {
			case ch <- sample:
			case <-ctx.Done():
				return
			}
			select {
			case <-ticker.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// TaskEvents relays the driver's task events until ctx is done.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *plugins.TaskEvent, error) {
	ch := make(chan *plugins.TaskEvent)
	go func() {
		defer close(ch)
		for {
			select {
			case event := <-d.events:
				select {
				case ch <- event:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// ExecTask runs cmd in the task's directory.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*plugins.ExecResult, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	if len(cmd) == 0 {
		return nil, errors.New("exec command is empty")
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = t.cfg.TaskDir()
	c.Stdout, c.Stderr = &stdout, &stderr
	runErr := c.Run()
	if c.ProcessState == nil {
		return nil, fmt.Errorf("exec in task %q: %w", taskID, runErr)
	}
	return &plugins.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: exitResult(c.ProcessState, runErr)}, nil
}

// ExecTaskStreaming runs a command with the caller's streams. TTY mode is
// not supported.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *plugins.ExecOptions) (*plugins.ExitResult, error) {
	t, err := d.task(taskID)
	if err != nil {
		return nil, err
	}
	if len(opts.Command) == 0 {
		return nil, errors.New("exec command is empty")
	}
	c := exec.CommandContext(ctx, opts.Command[0], opts.Command[1:]...)
	c.Dir = t.cfg.TaskDir()
	c.Stdin, c.Stdout, c.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
	runErr := c.Run()
	if c.ProcessState == nil {
		return nil, fmt.Errorf("exec in task %q: %w", taskID, runErr)
	}
	result := exitResult(c.ProcessState, runErr)
	return &result, nil
}
