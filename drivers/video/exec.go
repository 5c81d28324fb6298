package video

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ferry-video/ferry/plugins"
)

// ExecTask runs cmd in the container and collects its output. A timeout of 0
// means no limit.
func (d *Driver) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*plugins.ExecResult, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	exit, err := d.ExecTaskStreaming(ctx, taskID, &plugins.ExecOptions{
		Command: cmd,
		Stdout:  nopWriteCloser{&stdout},
		Stderr:  nopWriteCloser{&stderr},
	})
	if err != nil {
		return nil, err
	}
	return &plugins.ExecResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Exit: *exit}, nil
}

// ExecTaskStreaming runs a command through docker exec with the given
// streams and returns its exit code.
// NOTE: when ctx ends first, the exec'd process keeps running in the
// container, because Docker has no call to kill an exec.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *plugins.ExecOptions) (*plugins.ExitResult, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	if len(opts.Command) == 0 {
		return nil, fmt.Errorf("missing command: give the program to run in task %q", taskID)
	}

	created, err := h.docker.ContainerExecCreate(ctx, h.state.ContainerID, container.ExecOptions{
		Cmd:          opts.Command,
		Tty:          opts.TTY,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return nil, fmt.Errorf("create exec in container %q: %w", h.state.ContainerID, err)
	}
	attach, err := h.docker.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{Tty: opts.TTY})
	if err != nil {
		return nil, fmt.Errorf("attach to exec %q: %w", created.ID, err)
	}
	defer attach.Close()

	if opts.Stdin != nil {
		go func() {
			_, _ = io.Copy(attach.Conn, opts.Stdin)
			// A terminal has no end of input, and Docker ends a TTY exec
			// whose stdin closes, so only a plain exec gets the EOF.
			if !opts.TTY {
				_ = attach.CloseWrite()
			}
		}()
	}
	if opts.TTY && opts.Resize != nil {
		go d.forwardResize(ctx, h, created.ID, opts.Resize)
	}

	if err := copyExecOutput(ctx, attach.Reader, opts); err != nil {
		return nil, err
	}
	return h.execExitResult(ctx, created.ID)
}

// execExitPoll is the pause between inspections of an exec whose output has
// ended but whose process Docker still reports as running.
const execExitPoll = 10 * time.Millisecond

// execExitResult waits for a finished exec's exit code. Docker closes an
// exec's output stream slightly before it records the exit code, and a
// process may close its output and go on running, so one inspection is not
// enough.
func (h *taskHandle) execExitResult(ctx context.Context, execID string) (*plugins.ExitResult, error) {
	for {
		info, err := h.docker.ContainerExecInspect(context.WithoutCancel(ctx), execID)
		if err != nil {
			return nil, fmt.Errorf("inspect exec %q: %w", execID, err)
		}
		if !info.Running {
			return &plugins.ExitResult{ExitCode: int32(info.ExitCode)}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("exec %q still running after its output ended: %w", execID, ctx.Err())
		case <-h.clock.After(execExitPoll):
		}
	}
}

// copyExecOutput copies the exec's output until it ends or ctx is done. A TTY
// exec has one raw stream and other execs a multiplexed one.
func copyExecOutput(ctx context.Context, r io.Reader, opts *plugins.ExecOptions) error {
	stdout, stderr := writerOrDiscard(opts.Stdout), writerOrDiscard(opts.Stderr)
	copied := make(chan error, 1)
	go func() {
		var err error
		if opts.TTY {
			_, err = io.Copy(stdout, r)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, r)
		}
		copied <- err
	}()

	select {
	case err := <-copied:
		if opts.Stdout != nil {
			_ = opts.Stdout.Close()
		}
		if opts.Stderr != nil {
			_ = opts.Stderr.Close()
		}
		if err != nil {
			return fmt.Errorf("copy exec output: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func (d *Driver) forwardResize(ctx context.Context, h *taskHandle, execID string, sizes <-chan plugins.TerminalSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case size, ok := <-sizes:
			if !ok {
				return
			}
			err := h.docker.ContainerExecResize(ctx, execID, container.ResizeOptions{Height: uint(size.Height), Width: uint(size.Width)})
			if err != nil {
				h.logger.Warn("failed to resize exec terminal", "exec_id", execID, "error", err)
			}
		}
	}
}
