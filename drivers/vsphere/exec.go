package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// execPollInterval is the period at which exec polls the guest for the
// program's exit.
const execPollInterval = 500 * time.Millisecond

// ExecTask runs cmd in the guest through VMware Tools guest operations and
// returns its exit code.
//
// NOTE: guest operations return no output streams, so Stdout and Stderr
// stay empty. Redirect output to a file in the guest to keep it.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*plugins.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	code, err := d.runInGuest(ctx, taskID, cmd)
	if err != nil {
		return nil, err
	}
	return &plugins.ExecResult{Exit: plugins.ExitResult{ExitCode: code}}, nil
}

// ExecTaskStreaming runs the command like ExecTask. It rejects TTY
// sessions, because guest operations cannot attach a terminal, and closes
// the output streams without writing to them.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *plugins.ExecOptions) (*plugins.ExitResult, error) {
	defer closeStreams(opts)
	if opts.TTY {
		return nil, errors.New("exec with a TTY is not supported by the vsphere driver: VMware Tools guest operations cannot attach a terminal")
	}
	code, err := d.runInGuest(ctx, taskID, opts.Command)
	if err != nil {
		return nil, err
	}
	return &plugins.ExitResult{ExitCode: code}, nil
}

func closeStreams(opts *plugins.ExecOptions) {
	if opts.Stdout != nil {
		opts.Stdout.Close()
	}
	if opts.Stderr != nil {
		opts.Stderr.Close()
	}
}

// runInGuest starts cmd[0] with the other elements as arguments and polls
// the guest until the process ends.
func (d *Driver) runInGuest(ctx context.Context, taskID string, cmd []string) (int32, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return 0, plugins.ErrTaskNotFound
	}
	if len(cmd) == 0 || cmd[0] == "" {
		return 0, errors.New("exec: missing command")
	}
	client, plugin, err := d.conn.get(ctx)
	if err != nil {
		return 0, err
	}
	if plugin.GuestUsername == "" {
		return 0, fmt.Errorf("exec in VM %q: missing guest_username: set the guest account in the plugin config", h.state.VMName)
	}
	vm := object.NewVirtualMachine(client.Client, h.state.ref())
	running, err := vm.IsToolsRunning(ctx)
	if err != nil {
		return 0, d.connectionFailed(client, fmt.Errorf("exec in VM %q: read VMware Tools state: %w", h.state.VMName, err))
	}
	if !running {
		return 0, fmt.Errorf("exec in VM %q: VMware Tools are not running in the guest, and exec needs their guest operations", h.state.VMName)
	}

	procs, err := guest.NewOperationsManager(client.Client, vm.Reference()).ProcessManager(ctx)
	if err != nil {
		return 0, fmt.Errorf("exec in VM %q: %w", h.state.VMName, err)
	}
	auth := &types.NamePasswordAuthentication{Username: plugin.GuestUsername, Password: plugin.guestPassword}
	spec := &types.GuestProgramSpec{ProgramPath: cmd[0], Arguments: strings.Join(cmd[1:], " ")}
	pid, err := procs.StartProgram(ctx, auth, spec)
	if fault.Is(err, &types.GuestOperationsUnavailable{}) {
		return 0, fmt.Errorf("exec in VM %q: guest operations are unavailable in this guest: check that VMware Tools run and allow guest operations", h.state.VMName)
	}
	if err != nil {
		return 0, fmt.Errorf("exec %q in VM %q: %w", cmd[0], h.state.VMName, err)
	}
	return d.waitGuestProcess(ctx, procs, auth, pid)
}

func (d *Driver) waitGuestProcess(ctx context.Context, procs *guest.ProcessManager, auth types.BaseGuestAuthentication, pid int64) (int32, error) {
	for {
		list, err := procs.ListProcesses(ctx, auth, []int64{pid})
		if err != nil {
			return 0, fmt.Errorf("read guest process %d: %w", pid, err)
		}
		if len(list) == 1 && list[0].EndTime != nil {
			return list[0].ExitCode, nil
		}
		select {
		case <-d.clock.After(execPollInterval):
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for guest process %d: %w", pid, ctx.Err())
		}
	}
}
