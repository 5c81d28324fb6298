package video

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

func TestDecidePauseOrphans(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	grace := 5 * time.Minute
	pause := pauseContainer{ID: "p1", AllocID: "a1"}
	set := func(ids ...string) map[string]struct{} {
		m := make(map[string]struct{})
		for _, id := range ids {
			m[id] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name     string
		known    map[string]struct{}
		busy     map[string]struct{}
		taskless map[string]time.Time
		grace    time.Duration
		wantGone bool
		// wantSince is the recorded time without tasks, zero for none.
		wantSince time.Time
	}{
		{"first sighting without tasks", set("a1"), set(), nil, grace, false, now},
		{"within grace", set("a1"), set(), map[string]time.Time{"a1": now.Add(-grace + time.Second)}, grace, false, now.Add(-grace + time.Second)},
		{"grace passed", set("a1"), set(), map[string]time.Time{"a1": now.Add(-grace)}, grace, true, now.Add(-grace)},
		{"task container resets", set("a1"), set("a1"), map[string]time.Time{"a1": now.Add(-time.Hour)}, grace, false, time.Time{}},
		{"unknown alloc kept", set(), set(), map[string]time.Time{"a1": now.Add(-time.Hour)}, grace, false, time.Time{}},
		{"zero grace keeps", set("a1"), set(), map[string]time.Time{"a1": now.Add(-time.Hour)}, 0, false, now.Add(-time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orphans, taskless := decidePauseOrphans(pauseSweepInput{
				pauses: []pauseContainer{pause}, known: tt.known, busy: tt.busy,
				taskless: tt.taskless, now: now, grace: tt.grace,
			})
			if gone := slices.Contains(orphans, pause); gone != tt.wantGone {
				t.Errorf("pause container removed = %v, want %v", gone, tt.wantGone)
			}
			since, recorded := taskless["a1"]
			if tt.wantSince.IsZero() && recorded {
				t.Errorf("recorded alloc a1 without tasks since %s, want no record", since)
			}
			if !tt.wantSince.IsZero() && !since.Equal(tt.wantSince) {
				t.Errorf("alloc a1 without tasks since %s, want %s", since, tt.wantSince)
			}
		})
	}
}

func TestDecidePauseOrphansDropsGoneAllocs(t *testing.T) {
	now := time.Now()
	_, taskless := decidePauseOrphans(pauseSweepInput{
		known:    map[string]struct{}{"gone": {}},
		busy:     map[string]struct{}{},
		taskless: map[string]time.Time{"gone": now.Add(-time.Minute)},
		now:      now,
		grace:    time.Minute,
	})
	if len(taskless) != 0 {
		t.Errorf("record without tasks = %v, want empty once the pause container is gone", taskless)
	}
}

// startPauseStandIn creates a running container with a pause container's
// name and labels, as a crashed plugin process leaves it, and removes it
// when the test ends.
func (e *testEnv) startPauseStandIn(allocID string) string {
	e.t.Helper()
	ctx := context.Background()
	config := &container.Config{
		Image:  testImage,
		Cmd:    []string{"/bin/sleep", "300"},
		Labels: map[string]string{labelRole: rolePause, labelNetworkAllocID: allocID},
	}
	host := &container.HostConfig{NetworkMode: "none"}
	created, err := e.docker.ContainerCreate(ctx, config, host, nil, nil, pauseContainerName(allocID))
	if err != nil {
		e.t.Fatalf("create pause container of alloc %s: %v", allocID, err)
	}
	e.t.Cleanup(func() {
		if err := removePause(context.Background(), e.docker, created.ID); err != nil {
			e.t.Errorf("remove pause container: %v", err)
		}
	})
	if err := e.docker.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		e.t.Fatalf("start pause container of alloc %s: %v", allocID, err)
	}
	return created.ID
}

func (e *testEnv) containerExists(id string) bool {
	e.t.Helper()
	_, err := e.docker.ContainerInspect(context.Background(), id)
	return err == nil
}

// startInAlloc starts a task of the alloc on d and returns its handle.
func (e *testEnv) startInAlloc(d *Driver, allocID, name, script string) *plugins.TaskHandle {
	e.t.Helper()
	task := e.newTask(name, shellTask(script))
	task.cfg.AllocID = allocID
	task.cfg.ID = fmt.Sprintf("%s/%s/%08x", allocID, name, uint32(time.Now().UnixNano()))
	handle, _, err := d.StartTask(context.Background(), task.cfg)
	if err != nil {
		e.t.Fatalf("StartTask %s: %v", name, err)
	}
	return handle
}

func TestOrphanSweepRemovesPauseWithoutTasks(t *testing.T) {
	env := newTestEnv(t)
	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	prefix := fmt.Sprintf("pause-sweep-%d", time.Now().UnixNano())
	orphanAlloc, runningAlloc, stoppedAlloc := prefix+"-orphan", prefix+"-running", prefix+"-stopped"

	// The plugin learns of the orphan's alloc from a task that it then
	// destroys, as after RecoverTask, StopTask and DestroyTask once the
	// process that created the network has crashed.
	orphan := env.startPauseStandIn(orphanAlloc)
	gone := env.startInAlloc(d, orphanAlloc, "done", "exec sleep 300")
	if err := d.DestroyTask(context.Background(), gone.Config.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	running := env.startPauseStandIn(runningAlloc)
	env.startInAlloc(d, runningAlloc, "web", "exec sleep 300")
	stopped := env.startPauseStandIn(stoppedAlloc)
	exited := env.startInAlloc(d, stoppedAlloc, "exited", "exit 3")
	if res := waitExit(t, d, exited.Config.ID); res.ExitCode != 3 {
		t.Fatalf("exit code = %d, want 3", res.ExitCode)
	}

	for i, step := range []time.Duration{0, 4 * time.Minute, time.Minute} {
		clk.advance(step)
		d.sweepOrphans(context.Background())
		if i < 2 && !env.containerExists(orphan) {
			t.Fatalf("sweep %d removed the pause container of %s within orphan_grace", i, orphanAlloc)
		}
	}
	if env.containerExists(orphan) {
		t.Errorf("pause container of %s still exists after orphan_grace without tasks", orphanAlloc)
	}
	if !env.containerExists(running) {
		t.Errorf("pause container of %s with a running task was removed", runningAlloc)
	}
	if !env.containerExists(stopped) {
		t.Errorf("pause container of %s with a stopped task container was removed", stoppedAlloc)
	}
}

func TestOrphanSweepKeepsOtherAllocsPause(t *testing.T) {
	env := newTestEnv(t)
	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	d.orphans.addNode(env.nodeID)
	foreign := env.startPauseStandIn(fmt.Sprintf("pause-foreign-%d", time.Now().UnixNano()))

	for i := range 3 {
		clk.advance(10 * time.Minute)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d removed %d containers, want 0", i, n)
		}
	}
	if !env.containerExists(foreign) {
		t.Errorf("pause container of an alloc the driver never saw was removed")
	}
}

func TestOrphanSweepDisabledKeepsPause(t *testing.T) {
	env := newTestEnv(t)
	d := env.newDriverWith(map[string]cty.Value{"orphan_grace": cty.StringVal("0")})
	clk := newManualClock()
	d.clock = clk
	allocID := fmt.Sprintf("pause-kept-%d", time.Now().UnixNano())
	pause := env.startPauseStandIn(allocID)
	d.pauses.addAlloc(allocID)

	for i := range 3 {
		clk.advance(time.Hour)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d removed %d containers, want 0", i, n)
		}
	}
	if !env.containerExists(pause) {
		t.Errorf("pause container was removed with orphan_grace = \"0\"")
	}
}

func TestOrphanSweepKeepsPauseDuringStart(t *testing.T) {
	env := newTestEnv(t)
	d := env.newDriver()
	clk := newManualClock()
	d.clock = clk
	allocID := fmt.Sprintf("pause-starting-%d", time.Now().UnixNano())
	pause := env.startPauseStandIn(allocID)
	// A StartTask that is still pulling the image or staging cameras.
	d.pauses.beginStart(allocID)

	for i := range 3 {
		clk.advance(10 * time.Minute)
		if n := d.sweepOrphans(context.Background()); n != 0 {
			t.Errorf("sweep %d removed %d containers, want 0", i, n)
		}
	}
	if !env.containerExists(pause) {
		t.Errorf("pause container was removed while a task of its alloc was starting")
	}

	d.pauses.endStart(allocID)
	for range 2 {
		clk.advance(10 * time.Minute)
		d.sweepOrphans(context.Background())
	}
	if env.containerExists(pause) {
		t.Errorf("pause container still exists after the start ended and orphan_grace passed")
	}
}
