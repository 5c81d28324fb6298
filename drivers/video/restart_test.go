package video

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

func restartOnBootTask(script string, enabled bool) map[string]cty.Value {
	task := shellTask(script)
	task["restart_on_boot"] = cty.BoolVal(enabled)
	return task
}

func (e *testEnv) inspect(id string) container.InspectResponse {
	e.t.Helper()
	info, err := e.docker.ContainerInspect(context.Background(), id)
	if err != nil {
		e.t.Fatalf("inspect container %s: %v", id, err)
	}
	return info
}

func TestRestartPolicyFollowsOption(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		want    container.RestartPolicyMode
	}{
		{"restart on boot", true, container.RestartPolicyUnlessStopped},
		{"default", false, container.RestartPolicyDisabled},
	}
	env := newTestEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := env.newTask("policy", restartOnBootTask("exec sleep 300", tt.enabled))
			handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			state, err := decodeDriverState(handle)
			if err != nil {
				t.Fatal(err)
			}

			if got := env.inspect(state.ContainerID).HostConfig.RestartPolicy.Name; got != tt.want {
				t.Errorf("restart policy = %q, want %q", got, tt.want)
			}
			if err := env.driver.StopTask(context.Background(), task.cfg.ID, 10*time.Second, "SIGKILL"); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
			info := env.inspect(state.ContainerID)
			if got := info.HostConfig.RestartPolicy.Name; got != container.RestartPolicyDisabled {
				t.Errorf("restart policy after StopTask = %q, want %q", got, container.RestartPolicyDisabled)
			}
			if info.State.Running {
				t.Errorf("container is running after StopTask")
			}
			if err := env.driver.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
		})
	}
}

func TestRestartOnBootRecoverAdopts(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("boot", restartOnBootTask("echo started; exec sleep 300", true))
	handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}
	detach(env.driver)

	// A reboot stops the container and dockerd starts it again because of
	// its restart policy, while no plugin runs.
	timeout := 0
	if err := env.docker.ContainerRestart(context.Background(), state.ContainerID, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("restart container: %v", err)
	}

	restarted := env.newDriver()
	recovered := &plugins.TaskHandle{Version: handle.Version, Config: handle.Config, State: handle.State, DriverState: handle.DriverState}
	recovered.Config.DriverConfig = nil
	if err := restarted.RecoverTask(context.Background(), recovered); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}

	ids := env.containers()
	if len(ids) != 1 {
		t.Fatalf("containers after recovery = %v, want one", ids)
	}
	if ids[0] != state.ContainerID {
		t.Errorf("container after recovery = %s, want the adopted %s", ids[0], state.ContainerID)
	}
	if !env.inspect(state.ContainerID).State.Running {
		t.Errorf("adopted container is not running")
	}
	status, err := restarted.InspectTask(context.Background(), task.cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if status.State != plugins.TaskStateRunning {
		t.Errorf("task state = %v, want running", status.State)
	}

	if err := restarted.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if ids := env.containers(); len(ids) != 0 {
		t.Errorf("containers after DestroyTask = %v, want none", ids)
	}
}

func TestRestartOnBootExitStopsCopy(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("crash", restartOnBootTask("exit 5", true))
	handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}

	if got := waitExit(t, env.driver, task.cfg.ID).ExitCode; got != 5 {
		t.Errorf("exit code = %d, want 5", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitCh, errCh := env.docker.ContainerWait(ctx, state.ContainerID, container.WaitConditionNotRunning)
	select {
	case <-waitCh:
	case err := <-errCh:
		t.Fatalf("wait for container: %v", err)
	}
	info := env.inspect(state.ContainerID)
	if info.State.Running || info.State.Restarting {
		t.Errorf("container state = %+v, want stopped after the exit", info.State)
	}
	if got := info.HostConfig.RestartPolicy.Name; got != container.RestartPolicyDisabled {
		t.Errorf("restart policy after the exit = %q, want %q", got, container.RestartPolicyDisabled)
	}
}
