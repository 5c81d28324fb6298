package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// testDriverPath is the test driver binary built by TestMain.
var testDriverPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "harness-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp dir:", err)
		os.Exit(1)
	}
	testDriverPath = filepath.Join(dir, "testdriver")
	build := exec.Command("go", "build", "-o", testDriverPath, "github.com/ferry-video/ferry/plugins/internal/testdriver/cmd/testdriver")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build test driver:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func launch(t *testing.T) *Plugin {
	t.Helper()
	p, err := Launch(testDriverPath, nil, nil)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(p.Close)
	if err := p.SetConfigHCL(testContext(t), nil, "agent.hcl", &plugins.AgentConfig{ClientMinPort: 14000, ClientMaxPort: 14512}); err != nil {
		t.Fatalf("SetConfigHCL: %v", err)
	}
	return p
}

// startTask starts a task from task config HCL in a fresh alloc dir.
func startTask(t *testing.T, p *Plugin, taskHCL string) (*AllocDir, *plugins.TaskConfig, *plugins.TaskHandle) {
	t.Helper()
	ctx := testContext(t)
	alloc, err := NewAllocDir(t.TempDir(), "web")
	if err != nil {
		t.Fatalf("NewAllocDir: %v", err)
	}
	t.Cleanup(alloc.Close)
	data, err := p.EncodeTaskConfig(ctx, []byte(taskHCL), "task.hcl")
	if err != nil {
		t.Fatalf("EncodeTaskConfig: %v", err)
	}
	cfg := alloc.TaskConfig(data)
	handle, _, err := p.Driver.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), cfg.ID, true) })
	return alloc, cfg, handle
}

func TestPluginInfoAndSchemas(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)

	info, versions, err := p.Base.PluginInfo(ctx)
	if err != nil {
		t.Fatalf("PluginInfo: %v", err)
	}
	if info.Name != "testdriver" || info.Type != plugins.PluginTypeDriver || info.Version != "0.1.0" {
		t.Errorf("PluginInfo = %+v", info)
	}
	if len(versions) != 1 || versions[0] != plugins.APIVersion {
		t.Errorf("API versions = %v, want [%s]", versions, plugins.APIVersion)
	}

	spec, err := p.Driver.TaskConfigSchema(ctx)
	if err != nil {
		t.Fatalf("TaskConfigSchema: %v", err)
	}
	if spec == nil || spec.Object == nil || spec.Object.Attributes["command"] == nil {
		t.Errorf("task schema = %+v, want an object with command", spec)
	}

	caps, err := p.Driver.Capabilities(ctx)
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	if !caps.NoMounts || !caps.Exec || !caps.SendSignals {
		t.Errorf("Capabilities = %+v, want exec, signals and no mounts", caps)
	}
	if err := p.Driver.Init(ctx); err != nil {
		t.Errorf("Init: %v", err)
	}
}

func TestSetConfigHCL(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string
	}{
		{"default shell", "", ""},
		{"explicit shell", `shell = "/bin/bash"`, ""},
		{"unknown key", `bogus = 1`, "Unsupported argument"},
		{"wrong type", `shell = [1]`, "Incorrect attribute value type"},
	}
	p := launch(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.SetConfigHCL(testContext(t), []byte(tt.src), "agent.hcl", nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("SetConfigHCL: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("SetConfigHCL error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestFingerprintFirstMessage(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	stream, err := p.Driver.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	fp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Fingerprint Recv: %v", err)
	}
	if fp.Health != plugins.HealthHealthy || fp.Description != "Healthy" {
		t.Errorf("fingerprint health = %v %q, want healthy", fp.Health, fp.Description)
	}
	if got := fp.Attributes["driver.testdriver.version"].String; got != "0.1.0" {
		t.Errorf("version attribute = %q, want 0.1.0", got)
	}
}

func TestTaskLifecycle(t *testing.T) {
	tests := []struct {
		name     string
		taskHCL  string
		stop     bool
		wantCode int32
		wantSig  int32
		wantLog  string
	}{
		{"batch echo", "command = \"/bin/sh\"\nargs = [\"-c\", \"echo hello; exit 3\"]\n", false, 3, 0, "hello"},
		{"stopped sleeper", "command = \"/bin/sh\"\nargs = [\"-c\", \"echo up; exec sleep 1000\"]\n", true, -1, 15, "up"},
	}
	p := launch(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			alloc, cfg, handle := startTask(t, p, tt.taskHCL)
			if handle.Config == nil || handle.Config.ID != cfg.ID {
				t.Fatalf("handle config = %+v, want the task config echoed", handle.Config)
			}
			if err := alloc.Stdout.WaitFor(ctx, tt.wantLog); err != nil {
				t.Fatalf("task output: %v", err)
			}
			if tt.stop {
				if err := p.Driver.StopTask(ctx, cfg.ID, 5*time.Second, "SIGTERM"); err != nil {
					t.Fatalf("StopTask: %v", err)
				}
			}
			result, err := p.Driver.WaitTask(ctx, cfg.ID)
			if err != nil {
				t.Fatalf("WaitTask: %v", err)
			}
			if result.ExitCode != tt.wantCode || result.Signal != tt.wantSig {
				t.Errorf("exit = %+v, want code %d signal %d", result, tt.wantCode, tt.wantSig)
			}
			status, err := p.Driver.InspectTask(ctx, cfg.ID)
			if err != nil {
				t.Fatalf("InspectTask: %v", err)
			}
			if status.State != plugins.TaskStateExited || status.CompletedAt.IsZero() {
				t.Errorf("inspect = %+v, want exited with a completion time", status)
			}
			if err := p.Driver.DestroyTask(ctx, cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			if err := p.Driver.DestroyTask(ctx, cfg.ID, true); err != nil {
				t.Errorf("second DestroyTask: %v", err)
			}
			if _, err := p.Driver.WaitTask(ctx, cfg.ID); err == nil || !strings.Contains(err.Error(), plugins.ErrTaskNotFound.Error()) {
				t.Errorf("WaitTask after destroy error = %v, want %q", err, plugins.ErrTaskNotFound)
			}
		})
	}
}

func TestStartTaskErrors(t *testing.T) {
	tests := []struct {
		name            string
		startError      string
		wantRecoverable bool
	}{
		{"recoverable", "recoverable", true},
		{"fatal", "fatal", false},
	}
	p := launch(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			alloc, err := NewAllocDir(t.TempDir(), "web")
			if err != nil {
				t.Fatalf("NewAllocDir: %v", err)
			}
			defer alloc.Close()
			src := fmt.Sprintf("command = \"/bin/true\"\nstart_error = %q\n", tt.startError)
			data, err := p.EncodeTaskConfig(ctx, []byte(src), "task.hcl")
			if err != nil {
				t.Fatalf("EncodeTaskConfig: %v", err)
			}
			_, _, err = p.Driver.StartTask(ctx, alloc.TaskConfig(data))
			if err == nil {
				t.Fatal("StartTask succeeded, want an error")
			}
			if got := plugins.IsRecoverable(err); got != tt.wantRecoverable {
				t.Errorf("IsRecoverable(%v) = %v, want %v", err, got, tt.wantRecoverable)
			}
		})
	}
}

func TestRecoverTaskAfterPluginKill(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	alloc, cfg, handle := startTask(t, p, "command = \"/bin/sh\"\nargs = [\"-c\", \"echo up; exec sleep 1000\"]\n")
	if err := alloc.Stdout.WaitFor(ctx, "up"); err != nil {
		t.Fatalf("task output: %v", err)
	}

	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := p.Relaunch(); err != nil {
		t.Fatalf("Relaunch: %v", err)
	}
	if _, err := p.Driver.InspectTask(ctx, cfg.ID); err == nil {
		t.Fatal("InspectTask before RecoverTask succeeded, want task not found")
	}

	if err := p.Driver.RecoverTask(ctx, handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	if err := p.Driver.RecoverTask(ctx, handle); err != nil {
		t.Errorf("second RecoverTask: %v", err)
	}
	status, err := p.Driver.InspectTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if status.State != plugins.TaskStateRunning {
		t.Errorf("recovered state = %v, want running", status.State)
	}
	if err := p.Driver.StopTask(ctx, cfg.ID, 5*time.Second, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if _, err := p.Driver.WaitTask(ctx, cfg.ID); err != nil {
		t.Errorf("WaitTask: %v", err)
	}
}

func TestInspectAndExecNilSafety(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	_, cfg, _ := startTask(t, p, "command = \"/bin/sh\"\nargs = [\"-c\", \"exec sleep 1000\"]\n")

	inspect, err := p.Driver.Proto().InspectTask(ctx, &driverpb.InspectTaskRequest{TaskId: cfg.ID})
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	task := inspect.GetTask()
	if task == nil || task.GetResult() == nil || task.GetStartedAt() == nil || task.GetCompletedAt() == nil {
		t.Errorf("inspect task = %v, want task, result and both timestamps set", task)
	}

	exec, err := p.Driver.Proto().ExecTask(ctx, &driverpb.ExecTaskRequest{TaskId: cfg.ID, Command: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 4"}})
	if err != nil {
		t.Fatalf("ExecTask: %v", err)
	}
	if exec.GetResult() == nil || exec.GetResult().GetExitCode() != 4 {
		t.Errorf("exec result = %v, want exit code 4", exec.GetResult())
	}
	if string(exec.GetStdout()) != "out\n" || string(exec.GetStderr()) != "err\n" {
		t.Errorf("exec output = %q / %q, want out / err", exec.GetStdout(), exec.GetStderr())
	}

	stats, err := p.Driver.Proto().TaskStats(ctx, &driverpb.TaskStatsRequest{TaskId: cfg.ID})
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	sample, err := stats.Recv()
	if err != nil {
		t.Fatalf("TaskStats Recv: %v", err)
	}
	if sample.GetStats().GetAggResourceUsage().GetCpu() == nil || sample.GetStats().GetTimestamp() == nil {
		t.Errorf("stats sample = %v, want aggregate usage and timestamp set", sample)
	}
}

// recordingWriter stores what is written and whether Close was called.
type recordingWriter struct {
	bytes.Buffer
	closed bool
}

func (w *recordingWriter) Close() error {
	w.closed = true
	return nil
}

func TestExecTaskStreaming(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	_, cfg, _ := startTask(t, p, "command = \"/bin/sh\"\nargs = [\"-c\", \"exec sleep 1000\"]\n")

	var stdout, stderr recordingWriter
	result, err := p.Driver.ExecTaskStreaming(ctx, cfg.ID, &plugins.ExecOptions{
		Command: []string{"/bin/sh", "-c", "cat; echo done >&2; exit 2"},
		Stdin:   io.NopCloser(strings.NewReader("piped input\n")),
		Stdout:  &stdout,
		Stderr:  &stderr,
	})
	if err != nil {
		t.Fatalf("ExecTaskStreaming: %v", err)
	}
	if result.ExitCode != 2 {
		t.Errorf("exit code = %d, want 2", result.ExitCode)
	}
	if stdout.String() != "piped input\n" || stderr.String() != "done\n" {
		t.Errorf("output = %q / %q", stdout.String(), stderr.String())
	}
	if !stdout.closed || !stderr.closed {
		t.Errorf("stdout closed %v, stderr closed %v, want both closed", stdout.closed, stderr.closed)
	}
}

func TestExecTaskStreamingFraming(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	_, cfg, _ := startTask(t, p, "command = \"/bin/sh\"\nargs = [\"-c\", \"exec sleep 1000\"]\n")

	stream, err := p.Driver.Proto().ExecTaskStreaming(ctx)
	if err != nil {
		t.Fatalf("ExecTaskStreaming: %v", err)
	}
	requests := []*driverpb.ExecTaskStreamingRequest{
		{Setup: &driverpb.ExecTaskStreamingRequest_Setup{TaskId: cfg.ID, Command: []string{"/bin/cat"}}},
		{},
		{TtySize: &driverpb.ExecTaskStreamingRequest_TerminalSize{Height: 24, Width: 80}},
		{Stdin: &driverpb.ExecTaskStreamingIOOperation{Data: []byte("abc")}},
		{Stdin: &driverpb.ExecTaskStreamingIOOperation{Close: true}},
	}
	for _, req := range requests {
		if err := stream.Send(req); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}

	var responses []*driverpb.ExecTaskStreamingResponse
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		responses = append(responses, resp)
	}
	if len(responses) < 3 {
		t.Fatalf("got %d responses, want data, two closes and the exit", len(responses))
	}
	last := responses[len(responses)-1]
	if !last.GetExited() || last.GetResult() == nil {
		t.Errorf("last response = %v, want exited with a result", last)
	}
	var data []byte
	closes := 0
	for _, resp := range responses[:len(responses)-1] {
		data = append(data, resp.GetStdout().GetData()...)
		if resp.GetStdout().GetClose() || resp.GetStderr().GetClose() {
			closes++
		}
	}
	if string(data) != "abc" {
		t.Errorf("stdout data = %q, want abc", data)
	}
	if closes != 2 {
		t.Errorf("got %d close messages, want one each for stdout and stderr", closes)
	}
}
