package video

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

func TestStartWaitExitAndLogs(t *testing.T) {
	env := newTestEnv(t)
	cases := []struct {
		name       string
		script     string
		wantCode   int32
		wantStdout string
		wantStderr string
	}{
		{"success", "echo hello; echo warn >&2", 0, "hello\n", "warn\n"},
		{"failure", "echo partial; exit 3", 3, "partial\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := env.newTask("web", shellTask(tc.script))
			handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			if handle.Version != driverStateVersion {
				t.Errorf("handle version = %d, want %d", handle.Version, driverStateVersion)
			}

			result := waitExit(t, env.driver, task.cfg.ID)
			if result.ExitCode != tc.wantCode {
				t.Errorf("exit code = %d, want %d", result.ExitCode, tc.wantCode)
			}
			if err := env.driver.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			if got := task.stdout.String(); got != tc.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tc.wantStdout)
			}
			if got := task.stderr.String(); got != tc.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tc.wantStderr)
			}
		})
	}
}

func TestStopTask(t *testing.T) {
	cases := []struct {
		name     string
		script   string
		instant  bool // the stop timeout expires at once
		wantCode int32
	}{
		{"signal handled", `trap "exit 42" TERM; echo ready; while true; do sleep 0.1; done`, false, 42},
		{"signal ignored then killed", `trap "" TERM; echo ready; while true; do sleep 0.1; done`, true, 137},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			if tc.instant {
				env.driver.clock = newManualClock()
			}
			task := env.newTask("stop", shellTask(tc.script))
			if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			task.stdout.waitFor(t, "ready", 20*time.Second)

			if err := env.driver.StopTask(context.Background(), task.cfg.ID, time.Minute, ""); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
			if got := waitExit(t, env.driver, task.cfg.ID).ExitCode; got != tc.wantCode {
				t.Errorf("exit code = %d, want %d", got, tc.wantCode)
			}
			if err := env.driver.StopTask(context.Background(), task.cfg.ID, time.Minute, ""); err != nil {
				t.Errorf("StopTask after exit: %v", err)
			}
		})
	}
}

func TestDestroyTaskIdempotent(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("destroy", shellTask("sleep 300"))
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	if err := env.driver.DestroyTask(context.Background(), task.cfg.ID, false); err == nil {
		t.Error("DestroyTask without force succeeded on a running task")
	}

	for i := 0; i < 2; i++ {
		if err := env.driver.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
			t.Fatalf("DestroyTask call %d: %v", i+1, err)
		}
	}
	if ids := env.containers(); len(ids) != 0 {
		t.Errorf("containers left after DestroyTask: %v", ids)
	}
	if _, err := env.driver.WaitTask(context.Background(), task.cfg.ID); err == nil {
		t.Error("WaitTask succeeded for a destroyed task")
	}
}

func TestExecTask(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("exec", shellTask("sleep 300"))
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}

	result, err := env.driver.ExecTask(context.Background(), task.cfg.ID,
		[]string{"sh", "-c", "echo out; echo err >&2; exit 5"}, 30*time.Second)
	if err != nil {
		t.Fatalf("ExecTask: %v", err)
	}
	if string(result.Stdout) != "out\n" {
		t.Errorf("stdout = %q, want %q", result.Stdout, "out\n")
	}
	if string(result.Stderr) != "err\n" {
		t.Errorf("stderr = %q, want %q", result.Stderr, "err\n")
	}
	if result.Exit.ExitCode != 5 {
		t.Errorf("exit code = %d, want 5", result.Exit.ExitCode)
	}

	var tty strings.Builder
	sizes := make(chan plugins.TerminalSize, 1)
	sizes <- plugins.TerminalSize{Height: 40, Width: 100}
	exit, err := env.driver.ExecTaskStreaming(context.Background(), task.cfg.ID, &plugins.ExecOptions{
		Command: []string{"sh", "-c", "echo tty-ok"},
		TTY:     true,
		Stdout:  nopWriteCloser{&tty},
		Resize:  sizes,
	})
	if err != nil {
		t.Fatalf("ExecTaskStreaming: %v", err)
	}
	if !strings.Contains(tty.String(), "tty-ok") {
		t.Errorf("tty output = %q, want it to contain %q", tty.String(), "tty-ok")
	}
	if exit.ExitCode != 0 {
		t.Errorf("tty exit code = %d, want 0", exit.ExitCode)
	}
}

func TestTaskStats(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("stats", shellTask("sleep 300"))
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	samples, err := env.driver.TaskStats(ctx, task.cfg.ID, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	sample, ok := <-samples
	if !ok {
		t.Fatal("stats stream closed before the first sample")
	}
	if sample.Memory.Usage == 0 {
		t.Error("memory usage is 0")
	}
	if !containsString(sample.Memory.Measured, "Usage") {
		t.Errorf("memory measured = %v, want it to contain Usage", sample.Memory.Measured)
	}
	if !containsString(sample.CPU.Measured, "Percent") {
		t.Errorf("cpu measured = %v, want it to contain Percent", sample.CPU.Measured)
	}
}

func containsString(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func TestRecoverTaskResumesLogs(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("recover", shellTask(
		"echo line1; while [ ! -e /local/go ]; do sleep 0.1; done; echo line2; exit 4"))
	handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	task.stdout.waitFor(t, "line1\n", 20*time.Second)
	detach(env.driver)

	restarted := env.newDriver()
	recovered := &plugins.TaskHandle{Version: handle.Version, Config: handle.Config, State: handle.State, DriverState: handle.DriverState}
	recovered.Config.DriverConfig = nil
	for i := 0; i < 2; i++ {
		if err := restarted.RecoverTask(context.Background(), recovered); err != nil {
			t.Fatalf("RecoverTask call %d: %v", i+1, err)
		}
	}

	if err := os.WriteFile(filepath.Join(task.cfg.TaskDir(), "local", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := waitExit(t, restarted, task.cfg.ID).ExitCode; got != 4 {
		t.Errorf("exit code = %d, want 4", got)
	}
	if err := restarted.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if got := task.stdout.String(); got != "line1\nline2\n" {
		t.Errorf("stdout = %q, want each line once: %q", got, "line1\nline2\n")
	}
}

func TestRecoverTaskExitedWhileDown(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("exited", shellTask("while [ ! -e /local/go ]; do sleep 0.1; done; exit 7"))
	handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}
	detach(env.driver)

	if err := os.WriteFile(filepath.Join(task.cfg.TaskDir(), "local", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitCh, errCh := env.docker.ContainerWait(ctx, state.ContainerID, "not-running")
	select {
	case <-waitCh:
	case err := <-errCh:
		t.Fatalf("wait for container: %v", err)
	}

	restarted := env.newDriver()
	if err := restarted.RecoverTask(context.Background(), handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	if got := waitExit(t, restarted, task.cfg.ID).ExitCode; got != 7 {
		t.Errorf("exit code = %d, want 7", got)
	}
}

func TestNodeLabelsIsolateClients(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("owned", shellTask("sleep 300"))
	handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}
	info, err := env.docker.ContainerInspect(context.Background(), state.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		labelNodeID: env.nodeID, labelAllocID: task.cfg.AllocID,
		labelTaskName: task.cfg.Name, labelTaskID: task.cfg.ID,
	}
	for key, want := range wantLabels {
		if got := info.Config.Labels[key]; got != want {
			t.Errorf("label %s = %q, want %q", key, got, want)
		}
	}

	other := newTestEnv(t)
	foreign := *handle
	foreignCfg := *handle.Config
	foreignCfg.NodeID = other.nodeID
	foreign.Config = &foreignCfg
	if err := other.driver.RecoverTask(context.Background(), &foreign); err == nil {
		t.Error("RecoverTask adopted a container of another node")
	}
	if ids := other.containers(); len(ids) != 0 {
		t.Errorf("other node lists containers %v, want none", ids)
	}
}

// addRecording places a real recording into camera storage: the shared
// sample footage when present, else a small generated AVI header.
func addRecording(t *testing.T, storage, camera string) int64 {
	t.Helper()
	dir := filepath.Join(storage, camera)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "vtest.avi")
	sample := filepath.Join("..", "..", "..", "shared", "data", "vtest.avi")
	if data, err := os.ReadFile(sample); err == nil {
		if err := os.WriteFile(target, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return int64(len(data))
	}
	data := []byte("RIFF\x10\x00\x00\x00AVI LIST")
	if err := os.WriteFile(target, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return int64(len(data))
}

func TestRecordingsMountReadOnly(t *testing.T) {
	env := newTestEnv(t)
	addRecording(t, env.storage, "cam-1")
	config := shellTask("ls /recordings/cam-1; touch /recordings/cam-1/x && echo writable || echo read-only")
	config["cameras"] = cty.ListVal([]cty.Value{cty.StringVal("cam-1")})
	task := env.newTask("reader", config)
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}

	waitExit(t, env.driver, task.cfg.ID)
	task.stdout.waitFor(t, "read-only", 20*time.Second)
	if !strings.Contains(task.stdout.String(), "vtest.avi") {
		t.Errorf("stdout = %q, want the recording listed", task.stdout.String())
	}
	if _, err := os.Stat(filepath.Join(env.storage, "cam-1", "x")); err == nil {
		t.Error("container wrote into the recordings folder")
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	env := newTestEnv(t)
	addRecording(t, env.storage, "cam-1")
	outside := t.TempDir()
	cases := []struct {
		name            string
		change          func(map[string]cty.Value)
		wantText        string
		wantRecoverable bool
	}{
		{"unknown camera", func(c map[string]cty.Value) {
			c["cameras"] = cty.ListVal([]cty.Value{cty.StringVal("cam-9")})
		}, `camera "cam-9"`, false},
		{"volume outside allowed paths", func(c map[string]cty.Value) {
			c["volumes"] = cty.ListVal([]cty.Value{cty.StringVal(outside + ":/data")})
		}, "outside allowed_host_paths", false},
		{"privileged", func(c map[string]cty.Value) {
			c["privileged"] = cty.True
		}, "allow_privileged", false},
		{"missing image field", func(c map[string]cty.Value) {
			c["image"] = cty.StringVal("")
		}, "missing image", false},
		{"image not pullable", func(c map[string]cty.Value) {
			c["image"] = cty.StringVal("127.0.0.1:1/ferry-test/missing:1")
		}, `failed to pull image "127.0.0.1:1/ferry-test/missing:1"`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			config := shellTask("true")
			tc.change(config)
			task := env.newTask("bad", config)
			_, _, err := env.driver.StartTask(context.Background(), task.cfg)
			if err == nil {
				t.Fatal("StartTask succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if got := isRecoverable(err); got != tc.wantRecoverable {
				t.Errorf("recoverable = %v, want %v", got, tc.wantRecoverable)
			}
			if ids := env.containers(); len(ids) != 0 {
				t.Errorf("containers left behind: %v", ids)
			}
		})
	}
}
