package vsphere

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/guest"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

const (
	// execPollInterval is the period at which exec polls the guest for the
	// program's exit.
	execPollInterval = 500 * time.Millisecond
	// guestShell runs an exec command with its output redirected to files.
	guestShell = "/bin/sh"
	// guestOutputDir is the guest folder of those files.
	guestOutputDir = "/tmp"
	// maxExecOutput limits each output stream that exec returns, in bytes.
	maxExecOutput = 4 << 20
	// guestCleanupTimeout bounds deleting the output files.
	guestCleanupTimeout = 30 * time.Second
)

// guestResult is the exit code and output of a program run in the guest.
type guestResult struct {
	exitCode       int32
	stdout, stderr []byte
}

// guestSession is the client, VM, credentials and managers of one exec.
type guestSession struct {
	client *govmomi.Client
	vm     *object.VirtualMachine
	name   string
	auth   types.BaseGuestAuthentication
	procs  *guest.ProcessManager
	files  *guest.FileManager
}

// runInGuest runs cmd through the guest's /bin/sh with stdout and stderr
// redirected to files in guestOutputDir, polls until it ends, downloads
// both files and deletes them.
func (d *Driver) runInGuest(ctx context.Context, taskID string, cmd []string) (*guestResult, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil, plugins.ErrTaskNotFound
	}
	if len(cmd) == 0 || cmd[0] == "" {
		return nil, errors.New("exec: missing command")
	}
	s, err := d.openGuestSession(ctx, h)
	if err != nil {
		return nil, err
	}

	base := guestOutputDir + "/ferry-exec-" + randomSuffix()
	stdoutPath, stderrPath := base+".out", base+".err"
	defer d.deleteGuestFiles(s, stdoutPath, stderrPath)

	script := "exec " + shellJoin(cmd) + " >" + stdoutPath + " 2>" + stderrPath
	spec := &types.GuestProgramSpec{ProgramPath: guestShell, Arguments: "-c " + shellQuote(script)}
	pid, err := s.procs.StartProgram(ctx, s.auth, spec)
	if fault.Is(err, &types.GuestOperationsUnavailable{}) {
		return nil, fmt.Errorf("exec in VM %q: guest operations are unavailable in this guest: check that VMware Tools run and allow guest operations", s.name)
	}
	if err != nil {
		return nil, d.connectionFailed(s.client, fmt.Errorf("exec %q in VM %q: %w", cmd[0], s.name, err))
	}
	code, err := d.waitGuestProcess(ctx, s.procs, s.auth, pid)
	if err != nil {
		return nil, d.connectionFailed(s.client, fmt.Errorf("exec %q in VM %q: %w", cmd[0], s.name, err))
	}

	res := &guestResult{exitCode: code}
	if res.stdout, err = s.download(ctx, stdoutPath); err != nil {
		return nil, d.connectionFailed(s.client, err)
	}
	if res.stderr, err = s.download(ctx, stderrPath); err != nil {
		return nil, d.connectionFailed(s.client, err)
	}
	return res, nil
}

// openGuestSession checks the guest account and VMware Tools and returns
// the guest operation managers of the task's VM.
func (d *Driver) openGuestSession(ctx context.Context, h *taskHandle) (*guestSession, error) {
	client, plugin, err := d.conn.get(ctx)
	if err != nil {
		return nil, err
	}
	name := h.state.VMName
	if plugin.GuestUsername == "" {
		// The message stays short, so that Nomad's agent can pass it to
		// the CLI as a websocket close reason (at most 123 bytes).
		return nil, errors.New("missing guest_username: set the guest account in the plugin config")
	}
	vm := object.NewVirtualMachine(client.Client, h.state.ref())
	running, err := vm.IsToolsRunning(ctx)
	if err != nil {
		return nil, d.connectionFailed(client, fmt.Errorf("exec in VM %q: read VMware Tools state: %w", name, err))
	}
	if !running {
		return nil, fmt.Errorf("exec in VM %q: VMware Tools are not running in the guest, and exec needs their guest operations", name)
	}

	ops := guest.NewOperationsManager(client.Client, vm.Reference())
	procs, err := ops.ProcessManager(ctx)
	if err != nil {
		return nil, d.connectionFailed(client, fmt.Errorf("exec in VM %q: %w", name, err))
	}
	files, err := ops.FileManager(ctx)
	if err != nil {
		return nil, d.connectionFailed(client, fmt.Errorf("exec in VM %q: %w", name, err))
	}
	auth := &types.NamePasswordAuthentication{Username: plugin.GuestUsername, Password: plugin.guestPassword}
	return &guestSession{client: client, vm: vm, name: name, auth: auth, procs: procs, files: files}, nil
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

// download fetches a guest file through the transfer URL that vCenter
// returns, keeping at most maxExecOutput bytes.
func (s *guestSession) download(ctx context.Context, path string) ([]byte, error) {
	info, err := s.files.InitiateFileTransferFromGuest(ctx, s.auth, path)
	if err != nil {
		return nil, fmt.Errorf("exec in VM %q: start the transfer of %s: %w", s.name, path, err)
	}
	u, err := s.files.TransferURL(ctx, info.Url)
	if err != nil {
		return nil, fmt.Errorf("exec in VM %q: transfer URL of %s: %w", s.name, path, err)
	}
	body, _, err := s.client.Client.Download(ctx, u, &soap.DefaultDownload)
	if err != nil {
		return nil, fmt.Errorf("exec in VM %q: download %s: %w", s.name, path, err)
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxExecOutput))
	if err != nil {
		return nil, fmt.Errorf("exec in VM %q: download %s: %w", s.name, path, err)
	}
	return data, nil
}

// deleteGuestFiles removes the output files, logging what it cannot
// remove, because a failed exec should still clean up.
func (d *Driver) deleteGuestFiles(s *guestSession, paths ...string) {
	ctx, cancel := context.WithTimeout(context.Background(), guestCleanupTimeout)
	defer cancel()
	for _, path := range paths {
		err := s.files.DeleteFile(ctx, s.auth, path)
		if err != nil && !fault.Is(err, &types.FileNotFound{}) {
			d.logger.Warn("failed to delete an exec output file in the guest", "vm_id", s.vm.Reference().Value, "path", path, "error", err)
		}
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
