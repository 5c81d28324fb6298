package vsphere

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// ExecTask runs cmd in the guest through VMware Tools guest operations and
// returns its exit code, standard output and standard error.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*plugins.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	res, err := d.runInGuest(ctx, taskID, cmd)
	if err != nil {
		return nil, err
	}
	return &plugins.ExecResult{Stdout: res.stdout, Stderr: res.stderr, Exit: plugins.ExitResult{ExitCode: res.exitCode}}, nil
}

// ExecTaskStreaming runs the command like ExecTask and writes its output to
// the streams once it has ended. It rejects TTY sessions, because guest
// operations cannot attach a terminal.
//
// NOTE: guest operations return output only through files, so the output
// arrives after the program ends and standard input is not passed on.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *plugins.ExecOptions) (*plugins.ExitResult, error) {
	defer closeStreams(opts)
	if opts.TTY {
		return nil, errors.New("exec with a TTY is not supported by the vsphere driver: VMware Tools guest operations cannot attach a terminal")
	}
	res, err := d.runInGuest(ctx, taskID, opts.Command)
	if err != nil {
		return nil, err
	}
	if opts.Stdout != nil && len(res.stdout) > 0 {
		if _, err := opts.Stdout.Write(res.stdout); err != nil {
			return nil, err
		}
	}
	if opts.Stderr != nil && len(res.stderr) > 0 {
		if _, err := opts.Stderr.Write(res.stderr); err != nil {
			return nil, err
		}
	}
	return &plugins.ExitResult{ExitCode: res.exitCode}, nil
}

func closeStreams(opts *plugins.ExecOptions) {
	if opts.Stdout != nil {
		opts.Stdout.Close()
	}
	if opts.Stderr != nil {
		opts.Stderr.Close()
	}
}
