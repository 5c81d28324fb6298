package vsphere

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"

	"github.com/ferry-video/ferry/e2e/vcsim"
	"github.com/ferry-video/ferry/plugins"
)

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		failed int
		want   time.Duration
	}{
		{0, time.Second},
		{1, 2 * time.Second},
		{4, 16 * time.Second},
		{5, 30 * time.Second},
		{64, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.failed); got != tt.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tt.failed, got, tt.want)
		}
	}
}

// TestVCenterOutage stops vcsim while two VM tasks run and restarts it on
// the same port with the same inventory, as when vCenter restarts.
func TestVCenterOutage(t *testing.T) {
	sim, err := vcsim.NewSimulator(vcsim.Config{Username: testUser, Password: testPassword, Template: testTemplate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e := &simEnv{t: t, url: sim.URL()}
	clk := newManualClock()
	d := e.newDriver(clk, nil)
	logs := &lockedBuffer{}
	d.logger = hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true})
	ctx := testContext(t)

	tasks := []*plugins.TaskConfig{taskConfig(t, "first", nil), taskConfig(t, "second", nil)}
	var states []taskState
	for _, task := range tasks {
		states = append(states, startVM(t, d, task))
	}
	if fp := d.fingerprint(ctx); fp.Health != plugins.HealthHealthy {
		t.Fatalf("fingerprint before the outage = %v %q, want healthy", fp.Health, fp.Description)
	}
	before, _, _ := d.conn.get(ctx)

	sim.Stop()
	fp := d.fingerprint(ctx)
	if fp.Health != plugins.HealthUnhealthy {
		t.Errorf("fingerprint during the outage = %v, want unhealthy", fp.Health)
	}
	if want := "vCenter " + sim.URL() + " is unreachable"; !strings.Contains(fp.Description, want) {
		t.Errorf("fingerprint description = %q, want it to contain %q", fp.Description, want)
	}
	_, _, err = d.StartTask(ctx, taskConfig(t, "third", nil))
	if !isRecoverable(err) {
		t.Errorf("StartTask during the outage = %v, want a recoverable error", err)
	}

	// Each watcher backs off 1s, 2s, then 4s while vCenter stays down.
	clk.fireN(t, time.Second, len(tasks))
	clk.fireN(t, 2*time.Second, len(tasks))
	clk.waitWaiters(t, 4*time.Second, len(tasks))
	for _, task := range tasks {
		status, err := d.InspectTask(ctx, task.ID)
		if err != nil || status.State != plugins.TaskStateRunning {
			t.Errorf("InspectTask(%s) during the outage = %+v, %v, want running", task.Name, status, err)
		}
	}

	if want := `"retry_in":"2s"`; !strings.Contains(logs.String(), want) {
		t.Errorf("retry log lacks %s, want durations as text:\n%s", want, logs.String())
	}

	if err := sim.Restart(); err != nil {
		t.Fatal(err)
	}
	clk.fireN(t, 4*time.Second, len(tasks))
	if fp := d.fingerprint(ctx); fp.Health != plugins.HealthHealthy {
		t.Errorf("fingerprint after the outage = %v %q, want healthy", fp.Health, fp.Description)
	}
	if after, _, _ := d.conn.get(ctx); after == before {
		t.Error("the driver kept the session of before the outage, want a new login")
	}

	// Both watchers are attached again, so each task ends when its VM powers off.
	for i, task := range tasks {
		powerOffOutside(t, sim.URL(), states[i].VMID)
		res, err := d.WaitTask(ctx, task.ID)
		if err != nil || res.ExitCode != 0 {
			t.Errorf("WaitTask(%s) after power off = %+v, %v, want exit code 0", task.Name, res, err)
		}
	}
}

// powerOffOutside powers a VM off through its own vCenter session, as an
// operator would.
func powerOffOutside(t *testing.T, sdk, vmID string) {
	t.Helper()
	u, err := url.Parse(sdk)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(testUser, testPassword)
	c, err := govmomi.NewClient(testContext(t), u, true)
	if err != nil {
		t.Fatalf("log in to vcsim: %v", err)
	}
	defer c.Logout(context.Background())
	vm := object.NewVirtualMachine(c.Client, (taskState{VMID: vmID}).ref())
	mustTask(t, vm.PowerOff)
}

func TestStopTaskDuringOutageEvent(t *testing.T) {
	sim, err := vcsim.NewSimulator(vcsim.Config{Username: testUser, Password: testPassword, Template: testTemplate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e := &simEnv{t: t, url: sim.URL()}
	d := e.newDriver(newManualClock(), nil)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	task := taskConfig(t, "stopping", nil)
	startVM(t, d, task)
	events, _ := d.TaskEvents(ctx)

	sim.Stop()
	client, _, _ := d.conn.get(ctx)
	d.conn.reset(client)
	err = d.StopTask(ctx, task.ID, time.Second, "SIGKILL")
	if !isRecoverable(err) {
		t.Errorf("StopTask during the outage = %v, want a recoverable error", err)
	}

	want := "vCenter unreachable, stop waits and retries: vCenter " + sim.URL() + " is unreachable"
	for {
		select {
		case ev := <-events:
			if strings.HasPrefix(ev.Message, want) {
				if ev.TaskID != task.ID {
					t.Errorf("event task = %q, want %q", ev.TaskID, task.ID)
				}
				return
			}
		case <-ctx.Done():
			t.Fatalf("no event starting with %q", want)
		}
	}
}
