package video_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

func TestConformanceTaskStats(t *testing.T) {
	p := launchVideo(t)
	_, cfg, _ := p.startTask(t, "stats", shellHCL("while true; do :; done"))

	stream, err := p.Driver.TaskStats(testContext(t, 30*time.Second), cfg.ID, time.Second)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	usage, err := stream.Recv()
	if err != nil {
		t.Fatalf("first stats sample: %v", err)
	}
	if usage.Timestamp.IsZero() {
		t.Errorf("stats timestamp is zero")
	}
	if usage.Memory.Usage == 0 && usage.Memory.RSS == 0 {
		t.Errorf("memory usage = %+v, want RSS or Usage set", usage.Memory)
	}
	if len(usage.Memory.Measured) == 0 {
		t.Errorf("memory Measured is empty")
	}
	if len(usage.CPU.Measured) == 0 {
		t.Errorf("CPU Measured is empty")
	}
}

// nopWriteCloser adds a Close that does nothing to a writer.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

func TestConformanceExecWithTTY(t *testing.T) {
	p := launchVideo(t)
	_, cfg, _ := p.startTask(t, "exec", shellHCL("exec sleep 300"))

	cases := []struct {
		name  string
		stdin func(t *testing.T) io.ReadCloser
	}{
		{
			// As while a user is attached with nomad alloc exec.
			name: "stdin open",
			stdin: func(t *testing.T) io.ReadCloser {
				r, w := io.Pipe()
				t.Cleanup(func() { w.Close() })
				return r
			},
		},
		{
			// As with nomad alloc exec -t < /dev/null.
			name:  "stdin ends at once",
			stdin: func(*testing.T) io.ReadCloser { return io.NopCloser(strings.NewReader("")) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout syncBuffer
			sizes := make(chan plugins.TerminalSize, 1)
			sizes <- plugins.TerminalSize{Height: 30, Width: 100}
			result, err := p.Driver.ExecTaskStreaming(testContext(t, 30*time.Second), cfg.ID, &plugins.ExecOptions{
				Command: []string{"/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty; exit 4"},
				TTY:     true,
				Stdin:   tc.stdin(t),
				Stdout:  nopWriteCloser{&stdout},
				Stderr:  nopWriteCloser{io.Discard},
				Resize:  sizes,
			})
			if err != nil {
				t.Fatalf("ExecTaskStreaming: %v", err)
			}
			if result.ExitCode != 4 {
				t.Errorf("exec exit code = %d, want 4", result.ExitCode)
			}
			if !strings.Contains(stdout.String(), "on-a-tty") {
				t.Errorf("exec output = %q, want on-a-tty (stdin and stdout are a TTY)", stdout.String())
			}
		})
	}
}

func TestConformanceSignalTask(t *testing.T) {
	p := launchVideo(t)
	alloc, cfg, _ := p.startTask(t, "signal", shellHCL("trap 'echo got-usr1' USR1; echo ready; while true; do sleep 0.1; done"))
	waitLog(t, alloc.Stdout, "ready")

	if err := p.Driver.SignalTask(testContext(t, 30*time.Second), cfg.ID, "SIGUSR1"); err != nil {
		t.Fatalf("SignalTask: %v", err)
	}
	waitLog(t, alloc.Stdout, "got-usr1")
}

func TestConformanceStopAndDestroy(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantCode   int32
		wantSignal int32
	}{
		{"exits on signal", "trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done", 3, 0},
		{"killed after timeout", "trap 'echo ignored' TERM; echo ready; while true; do sleep 0.1; done", 137, int32(syscall.SIGKILL)},
	}
	p := launchVideo(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t, time.Minute)
			alloc, cfg, _ := p.startTask(t, "stop", shellHCL(tt.script))
			waitLog(t, alloc.Stdout, "ready")

			if err := p.Driver.StopTask(ctx, cfg.ID, 2*time.Second, "SIGTERM"); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
			result := waitExit(t, p, cfg.ID, 30*time.Second)
			if result.ExitCode != tt.wantCode && !(tt.wantSignal != 0 && result.Signal == tt.wantSignal) {
				t.Errorf("exit = %+v, want exit code %d or signal %d", result, tt.wantCode, tt.wantSignal)
			}

			if err := p.Driver.DestroyTask(ctx, cfg.ID, false); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			if left := containers(t, alloc.AllocID); len(left) != 0 {
				t.Errorf("containers after DestroyTask = %d, want 0", len(left))
			}
		})
	}
}

func TestConformanceDestroyRunningTask(t *testing.T) {
	p := launchVideo(t)
	alloc, cfg, _ := p.startTask(t, "destroy", shellHCL("exec sleep 300"))
	ctx := testContext(t, 30*time.Second)

	if err := p.Driver.DestroyTask(ctx, cfg.ID, false); err == nil {
		t.Errorf("DestroyTask without force of a running task succeeded, want an error")
	}
	if err := p.Driver.DestroyTask(ctx, cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask with force: %v", err)
	}
	if left := containers(t, alloc.AllocID); len(left) != 0 {
		t.Errorf("containers after DestroyTask = %d, want 0", len(left))
	}
}

// recoverScript prints one line, waits for /local/go, prints another and
// exits with 7 once /local/stop exists.
const recoverScript = "echo before-kill; while [ ! -f /local/go ]; do sleep 0.1; done; " +
	"echo after-kill; while [ ! -f /local/stop ]; do sleep 0.1; done; exit 7"

func TestConformanceRecoverAfterKill(t *testing.T) {
	tests := []struct {
		name        string
		emptyConfig bool
	}{
		{"stored handle", false},
		{"after agent restart", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := launchVideo(t)
			alloc, cfg, handle := p.startTask(t, "recover", shellHCL(recoverScript))
			waitLog(t, alloc.Stdout, "before-kill")
			before := inspectContainer(t, alloc.AllocID)

			if err := p.Kill(); err != nil {
				t.Fatalf("Kill: %v", err)
			}
			if err := p.Relaunch(); err != nil {
				t.Fatalf("Relaunch: %v", err)
			}
			p.configure(t)

			recovered := *handle
			if tt.emptyConfig {
				config := *handle.Config
				config.DriverConfig = nil
				recovered.Config = &config
			}
			if err := p.Driver.RecoverTask(testContext(t, 30*time.Second), &recovered); err != nil {
				t.Fatalf("RecoverTask: %v", err)
			}

			touch(t, filepath.Join(alloc.Dir, cfg.Name, "local", "go"))
			waitLog(t, alloc.Stdout, "after-kill")
			touch(t, filepath.Join(alloc.Dir, cfg.Name, "local", "stop"))
			result := waitExit(t, p, cfg.ID, time.Minute)
			if result.ExitCode != 7 {
				t.Errorf("exit = %+v, want exit code 7", result)
			}

			after := inspectContainer(t, alloc.AllocID)
			if after.ID != before.ID {
				t.Errorf("container id = %s after recovery, want %s", after.ID, before.ID)
			}
			if after.State.StartedAt != before.State.StartedAt {
				t.Errorf("container StartedAt = %s after recovery, want %s (not restarted)", after.State.StartedAt, before.State.StartedAt)
			}
			if after.RestartCount != 0 {
				t.Errorf("container RestartCount = %d, want 0", after.RestartCount)
			}
			// The exited container's logs are complete once DestroyTask
			// has drained them.
			if err := p.Driver.DestroyTask(testContext(t, 30*time.Second), cfg.ID, false); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			for _, line := range []string{"before-kill\n", "after-kill\n"} {
				if n := strings.Count(alloc.Stdout.String(), line); n != 1 {
					t.Errorf("stdout has %q %d times, want once; stdout %q", line, n, alloc.Stdout.String())
				}
			}
		})
	}
}

// containerInfo is the part of Docker's container inspect the recovery
// checks compare.
type containerInfo struct {
	ID           string
	RestartCount int
	State        struct{ StartedAt string }
}

func inspectContainer(t *testing.T, allocID string) containerInfo {
	t.Helper()
	list := containers(t, allocID)
	if len(list) != 1 {
		t.Fatalf("containers of alloc %s = %d, want 1", allocID, len(list))
	}
	info, err := conformance.docker.ContainerInspect(context.Background(), list[0].ID)
	if err != nil {
		t.Fatalf("inspect container %s: %v", list[0].ID, err)
	}
	out := containerInfo{ID: info.ID, RestartCount: info.RestartCount}
	out.State.StartedAt = info.State.StartedAt
	return out
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
}
