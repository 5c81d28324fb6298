package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/object"

	"github.com/ferry-video/ferry/plugins"
)

const (
	// watchRetryMin and watchRetryMax bound the power state watcher's
	// backoff: it waits watchRetryMin after the first failed attempt to
	// reach vCenter and doubles the wait after each further one.
	watchRetryMin = 1 * time.Second
	watchRetryMax = 30 * time.Second
	// cleanupTimeout bounds destroying a VM after a failed start.
	cleanupTimeout = 2 * time.Minute
)

// watch starts the goroutine that records the task's exit when its VM
// powers off or is deleted.
func (d *Driver) watch(h *taskHandle) {
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go d.watchLoop(ctx, h)
}

// watchLoop waits for the VM's exit. While vCenter is unreachable, it
// retries with backoff and logs in again on each retry, so the task is
// re-attached once vCenter is back. The VM keeps running meanwhile.
func (d *Driver) watchLoop(ctx context.Context, h *taskHandle) {
	logger := d.logger.With("task_id", h.cfg.ID, "vm_id", h.state.VMID)
	failures := 0
	for {
		res, err := d.waitExit(ctx, h, func() {
			if failures > 0 {
				logger.Info("re-attached to the VM after losing vCenter", "failed_attempts", failures)
				failures = 0
			}
		})
		if err == nil {
			h.setExit(res, d.clock.Now())
			logger.Info("VM powered off", "exit_code", res.ExitCode, "error", res.Err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		delay := retryDelay(failures)
		failures++
		logger.Warn("lost the VM's power state, retrying", "error", err, "attempt", failures, "retry_in", delay.String())
		select {
		case <-d.clock.After(delay):
		case <-ctx.Done():
			return
		}
	}
}

// retryDelay returns the wait after failed attempts of the watcher: 1s,
// 2s, 4s and so on up to watchRetryMax.
func retryDelay(failed int) time.Duration {
	if failed >= 5 {
		return watchRetryMax
	}
	return min(watchRetryMin<<failed, watchRetryMax)
}

// waitExit blocks until the VM powers off and returns its exit result.
// attached is called once the watch is registered with vCenter.
func (d *Driver) waitExit(ctx context.Context, h *taskHandle, attached func()) (*plugins.ExitResult, error) {
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return nil, err
	}
	gone, err := waitPoweredOff(ctx, client.Client, h.state.ref(), attached)
	if err != nil {
		_ = d.connectionFailed(client, err)
		return nil, err
	}
	if gone {
		return &plugins.ExitResult{ExitCode: 1, Err: fmt.Sprintf("VM %q was deleted outside Nomad", h.state.VMName)}, nil
	}
	code, err := readExitCode(ctx, client.Client, h.state.ref())
	if isNotFound(err) {
		return &plugins.ExitResult{ExitCode: 1, Err: fmt.Sprintf("VM %q was deleted outside Nomad", h.state.VMName)}, nil
	}
	if err != nil && isConnectionError(err) {
		return nil, err
	}
	res := &plugins.ExitResult{ExitCode: code}
	if err != nil {
		res.Err = err.Error()
	}
	return res, nil
}

// StopTask shuts the guest down through VMware Tools and powers the VM off
// when the guest has not stopped within timeout. SIGKILL, stop_mode
// "poweroff" and a guest without running Tools power off at once.
func (d *Driver) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return plugins.ErrTaskNotFound
	}
	if h.exitResult() != nil {
		return nil
	}
	client, _, err := d.conn.get(ctx)
	if err != nil {
		d.reportStopWaiting(h, err)
		return err
	}
	vm := object.NewVirtualMachine(client.Client, h.state.ref())
	if signal != "SIGKILL" && h.state.StopMode == stopModeGuest && d.shutdownGuest(ctx, vm, h) {
		select {
		case <-h.done:
			return nil
		case <-d.clock.After(timeout):
			d.logger.Warn("guest did not shut down within the kill timeout, powering off", "task_id", taskID, "vm_id", h.state.VMID, "timeout", timeout.String())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := powerOff(ctx, vm); err != nil {
		err = d.connectionFailed(client, err)
		d.reportStopWaiting(h, err)
		return err
	}
	select {
	case <-h.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// reportStopWaiting publishes a task event when a stop failed because
// vCenter is unreachable. Nomad's client (v2.0) retries a failed stop with
// backoff, up to killFailureLimit times, and the VM keeps running meanwhile.
func (d *Driver) reportStopWaiting(h *taskHandle, err error) {
	var recoverableErr *plugins.RecoverableError
	if !errors.As(err, &recoverableErr) {
		return
	}
	d.logger.Warn("vCenter unreachable, stop waits and retries", "task_id", h.cfg.ID, "vm_id", h.state.VMID, "error", err)
	d.events.Publish(&plugins.TaskEvent{
		TaskID: h.cfg.ID, AllocID: h.cfg.AllocID, TaskName: h.cfg.Name, Timestamp: d.clock.Now(),
		Message: fmt.Sprintf("vCenter unreachable, stop waits and retries: %v", err),
	})
}

// shutdownGuest requests a guest shutdown through VMware Tools and reports
// whether vCenter accepted the request.
func (d *Driver) shutdownGuest(ctx context.Context, vm *object.VirtualMachine, h *taskHandle) bool {
	running, err := vm.IsToolsRunning(ctx)
	if err == nil && !running {
		err = errors.New("VMware Tools are not running in the guest")
	}
	if err == nil {
		err = d.hooks.shutdownGuest(ctx, vm)
	}
	if err != nil {
		d.logger.Warn("guest shutdown failed, powering off", "task_id", h.cfg.ID, "vm_id", h.state.VMID, "error", err)
		d.events.Publish(&plugins.TaskEvent{
			TaskID: h.cfg.ID, AllocID: h.cfg.AllocID, TaskName: h.cfg.Name, Timestamp: d.clock.Now(),
			Message: fmt.Sprintf("Guest shutdown failed, powering off: %v", err),
		})
		return false
	}
	return true
}

// SignalTask maps SIGTERM to a guest shutdown and SIGKILL to a power off.
// A VM has no other signals.
func (d *Driver) SignalTask(ctx context.Context, taskID string, signal string) error {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return plugins.ErrTaskNotFound
	}
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return err
	}
	vm := object.NewVirtualMachine(client.Client, h.state.ref())
	switch signal {
	case "SIGKILL":
		err = powerOff(ctx, vm)
	case "SIGTERM":
		err = d.hooks.shutdownGuest(ctx, vm)
	default:
		return fmt.Errorf("signal %q is not supported by the vsphere driver: a VM takes only SIGTERM (guest shutdown) and SIGKILL (power off)", signal)
	}
	if err != nil {
		return d.connectionFailed(client, fmt.Errorf("send %s to VM %q: %w", signal, h.state.VMName, err))
	}
	return nil
}
