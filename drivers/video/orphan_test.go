package video

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

// startDetached starts a sleeping task on d and then drops its handle, as
// when the plugin dies before Nomad stores the handle. It returns the task, its
// handle and its container id.
func (e *testEnv) startDetached(d *Driver, name string) (*taskFixture, *plugins.TaskHandle, string) {
	e.t.Helper()
	task := e.newTask(name, shellTask("exec sleep 300"))
	handle, _, err := d.StartTask(context.Background(), task.cfg)
	if err != nil {
		e.t.Fatalf("StartTask %s: %v", name, err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		e.t.Fatal(err)
	}
	detach(d)
	return task, handle, state.ContainerID
}

func TestStartTaskRemovesLeftover(t *testing.T) {
	env := newTestEnv(t)
	first, _, leftover := env.startDetached(env.driver, "retry")
	_, _, otherTask := env.startDetached(env.driver, "other")

	d := env.newDriver()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := d.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}

	retry := env.newTask("retry", shellTask("exec sleep 300"))
	retry.cfg.ID = first.cfg.ID + "-2"
	handle, _, err := d.StartTask(context.Background(), retry.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}

	got := env.containers()
	if slices.Contains(got, leftover) {
		t.Errorf("leftover container %s of the same alloc and task still exists", leftover)
	}
	if !slices.Contains(got, state.ContainerID) {
		t.Errorf("new container %s missing", state.ContainerID)
	}
	if !slices.Contains(got, otherTask) {
		t.Errorf("container %s of another task was removed", otherTask)
	}

	select {
	case ev := <-events:
		if ev.TaskID != retry.cfg.ID {
			t.Errorf("event task id = %q, want %q", ev.TaskID, retry.cfg.ID)
		}
		if !strings.Contains(ev.Message, leftover[:12]) {
			t.Errorf("event message %q does not name container %s", ev.Message, leftover[:12])
		}
	default:
		t.Errorf("no task event for the removed container")
	}
}

func TestOrphanSweepAfterGrace(t *testing.T) {
	tests := []struct {
		name string
		// steps are the clock advances before each sweep.
		steps []time.Duration
		// wantRemoved is the sweep, counted from 0, that removes the
		// orphan, or -1 for none.
		wantRemoved int
	}{
		{"removed at second sweep past grace", []time.Duration{0, 4 * time.Minute, time.Minute + time.Second, 0}, 2},
		{"first sighting after grace kept", []time.Duration{10 * time.Minute, 0}, 1},
		{"within grace kept", []time.Duration{0, time.Minute, time.Minute}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			_, _, orphan := env.startDetached(env.driver, "orphan")
			d := env.newDriver()
			clk := newManualClock()
			d.clock = clk
			_, _, tracked := env.startTracked(d, "tracked")

			for i, step := range tt.steps {
				clk.advance(step)
				removed := d.sweepOrphans(context.Background())
				exists := slices.Contains(env.containers(), orphan)
				if i == tt.wantRemoved {
					if removed != 1 || exists {
						t.Fatalf("sweep %d: removed %d, orphan exists %v, want it removed", i, removed, exists)
					}
					continue
				}
				if removed != 0 {
					t.Errorf("sweep %d removed %d containers, want 0", i, removed)
				}
				if i < tt.wantRemoved || tt.wantRemoved < 0 {
					if !exists {
						t.Fatalf("sweep %d removed the orphan too early", i)
					}
				}
			}
			if !slices.Contains(env.containers(), tracked) {
				t.Errorf("tracked container %s was removed", tracked)
			}
		})
	}
}

// startTracked starts a sleeping task on d and keeps it tracked.
func (e *testEnv) startTracked(d *Driver, name string) (*taskFixture, *plugins.TaskHandle, string) {
	e.t.Helper()
	task := e.newTask(name, shellTask("exec sleep 300"))
	handle, _, err := d.StartTask(context.Background(), task.cfg)
	if err != nil {
		e.t.Fatalf("StartTask %s: %v", name, err)
	}
	state, err := decodeDriverState(handle)
	if err != nil {
		e.t.Fatal(err)
	}
	return task, handle, state.ContainerID
}

func TestOrphanSweepKeepsRecovered(t *testing.T) {
	env := newTestEnv(t)
	_, handle, id := env.startDetached(env.driver, "recovered")
	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	d.orphans.addNode(env.nodeID)

	if n := d.sweepOrphans(context.Background()); n != 0 {
		t.Fatalf("first sweep removed %d containers, want 0", n)
	}
	if err := d.RecoverTask(context.Background(), handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	for i := range 3 {
		clk.advance(10 * time.Minute)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d after recovery removed %d containers, want 0", i, n)
		}
	}
	if !slices.Contains(env.containers(), id) {
		t.Errorf("recovered container %s was removed", id)
	}
	if err := d.DestroyTask(context.Background(), handle.Config.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
}

func TestOrphanSweepSkipsOtherNode(t *testing.T) {
	env := newTestEnv(t)
	other := newTestEnv(t)
	_, _, foreign := other.startDetached(other.driver, "foreign")

	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	env.startTracked(d, "local")
	for i := range 3 {
		clk.advance(10 * time.Minute)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d removed %d containers, want 0", i, n)
		}
	}
	if !slices.Contains(other.containers(), foreign) {
		t.Errorf("container %s of node %s was removed by the driver of node %s", foreign, other.nodeID, env.nodeID)
	}
}

func TestOrphanSweepDisabled(t *testing.T) {
	env := newTestEnv(t)
	_, _, orphan := env.startDetached(env.driver, "kept")
	d := env.newDriverWith(map[string]cty.Value{"orphan_grace": cty.StringVal("0")})
	clk := newManualClock()
	d.clock = clk
	d.orphans.addNode(env.nodeID)
	for i := range 3 {
		clk.advance(time.Hour)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d removed %d containers, want 0", i, n)
		}
	}
	if !slices.Contains(env.containers(), orphan) {
		t.Errorf("container %s was removed with orphan_grace = \"0\"", orphan)
	}
}

func TestParseOrphanGrace(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", defaultOrphanGrace, false},
		{"0", 0, false},
		{"90s", 90 * time.Second, false},
		{"-1m", 0, true},
		{"soon", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			got, err := parseOrphanGrace(tt.value)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseOrphanGrace(%q) error = %v, want error %v", tt.value, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseOrphanGrace(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
}

func TestFingerprintPeriodSweepsOrphans(t *testing.T) {
	env := newTestEnv(t)
	_, _, orphan := env.startDetached(env.driver, "swept")
	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	d.orphans.addNode(env.nodeID)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}

	// The first fingerprint is sent after the first sweep, which only
	// records the container as untracked.
	<-stream
	if !slices.Contains(env.containers(), orphan) {
		t.Fatalf("first sweep removed container %s", orphan)
	}

	// The loop receives the second tick only after the sweep of the first
	// one has finished.
	clk.advance(10 * time.Minute)
	clk.ticks <- time.Now()
	clk.ticks <- time.Now()
	if slices.Contains(env.containers(), orphan) {
		t.Errorf("container %s still exists after a sweep past orphan_grace", orphan)
	}
}
