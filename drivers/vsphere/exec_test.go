package vsphere

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/vcsim"
	"github.com/ferry-video/ferry/plugins"
)

// containerSim starts a vcsim whose clones are Docker containers of the
// guest image running sleep, so guest operations run real programs.
func containerSim(t *testing.T) (*vcsim.Simulator, *PluginConfig) {
	t.Helper()
	ctx := testContext(t)
	if err := vcsim.BuildGuestImage(ctx, nil); err != nil {
		t.Fatalf("build guest image: %v", err)
	}
	owner := "vsphere-test-" + randomID()[:8]
	sim, err := vcsim.NewSimulator(vcsim.Config{
		Username: testUser, Password: testPassword, Template: testTemplate,
		GuestImage: vcsim.GuestImage, GuestCommand: []string{"sleep", "3600"}, Owner: owner,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sim.Close()
		if err := vcsim.RemoveContainers(context.Background(), owner); err != nil {
			t.Error(err)
		}
	})
	e := &simEnv{t: t, url: sim.URL()}
	cfg := e.pluginConfig()
	cfg.GuestUsername = "root"
	t.Setenv(guestPasswordEnv, "guest-pw")
	return sim, cfg
}

func TestExecTaskOutput(t *testing.T) {
	_, cfg := containerSim(t)
	e := &simEnv{t: t}
	d := e.newDriver(realClock{}, cfg)
	task := taskConfig(t, "exec", nil)
	startVM(t, d, task)

	tests := []struct {
		name     string
		cmd      []string
		stdout   string
		stderr   string
		exitCode int32
	}{
		{"stdout", []string{"echo", "hello from the guest"}, "hello from the guest\n", "", 0},
		{"quoted arguments", []string{"printf", "%s|%s\n", "it's", "a b"}, "it's|a b\n", "", 0},
		{"stderr and exit code", []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "out\n", "err\n", 3},
		{"guestinfo environment", []string{"sh", "-c", "echo $VMX_GUESTINFO_FERRY_TASK_ID"}, task.ID + "\n", "", 0},
		{"missing program", []string{"/bin/no-such-program"}, "", "", 127},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := d.ExecTask(testContext(t), task.ID, tt.cmd, 0)
			if err != nil {
				t.Fatalf("ExecTask: %v", err)
			}
			if got := string(res.Stdout); got != tt.stdout {
				t.Errorf("stdout = %q, want %q", got, tt.stdout)
			}
			if tt.exitCode != 127 && string(res.Stderr) != tt.stderr {
				t.Errorf("stderr = %q, want %q", res.Stderr, tt.stderr)
			}
			if res.Exit.ExitCode != tt.exitCode {
				t.Errorf("exit code = %d, want %d", res.Exit.ExitCode, tt.exitCode)
			}
		})
	}

	t.Run("output files deleted", func(t *testing.T) {
		res, err := d.ExecTask(testContext(t), task.ID, []string{"sh", "-c", "ls /tmp | grep -c ferry-exec || true"}, 0)
		if err != nil {
			t.Fatalf("ExecTask: %v", err)
		}
		// The listing runs while its own two files exist.
		if got := strings.TrimSpace(string(res.Stdout)); got != "2" {
			t.Errorf("ferry-exec files in /tmp = %s, want only the 2 of this exec", got)
		}
	})
}

func TestExecTaskStreamingOutput(t *testing.T) {
	_, cfg := containerSim(t)
	e := &simEnv{t: t}
	d := e.newDriver(realClock{}, cfg)
	task := taskConfig(t, "exec", nil)
	startVM(t, d, task)

	var stdout, stderr closingBuffer
	res, err := d.ExecTaskStreaming(testContext(t), task.ID, &plugins.ExecOptions{
		Command: []string{"sh", "-c", "echo streamed; echo problem >&2; exit 2"},
		Stdout:  &stdout, Stderr: &stderr,
	})
	if err != nil {
		t.Fatalf("ExecTaskStreaming: %v", err)
	}
	if res.ExitCode != 2 {
		t.Errorf("exit code = %d, want 2", res.ExitCode)
	}
	if stdout.String() != "streamed\n" || !stdout.closed {
		t.Errorf("stdout = %q closed=%t, want \"streamed\\n\" and closed", stdout.String(), stdout.closed)
	}
	if stderr.String() != "problem\n" || !stderr.closed {
		t.Errorf("stderr = %q closed=%t, want \"problem\\n\" and closed", stderr.String(), stderr.closed)
	}
}

type closingBuffer struct {
	strings.Builder
	closed bool
}

func (b *closingBuffer) Close() error { b.closed = true; return nil }

func TestDestroyContainerBackedVM(t *testing.T) {
	sim, cfg := containerSim(t)
	e := &simEnv{t: t}
	d := e.newDriver(realClock{}, cfg)
	task := taskConfig(t, "destroy", nil)
	state := startVM(t, d, task)
	ctx := testContext(t)

	if err := d.StopTask(ctx, task.ID, time.Second, "SIGKILL"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if err := d.DestroyTask(ctx, task.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if sim.Model().Map().Get(state.ref()) != nil {
		t.Errorf("VM %q still in vcsim after DestroyTask", state.VMID)
	}
}
