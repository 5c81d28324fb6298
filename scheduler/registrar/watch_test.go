package registrar

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// waitChange waits for a change report, failing the test after a deadline
// so that a missed event does not hang it.
func waitChange(t *testing.T, changes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatalf("no change reported within 10s after %s", what)
	}
}

func TestWatcherReportsStorageChanges(t *testing.T) {
	root := t.TempDir()
	existing := filepath.Join(root, "cam-a")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher([]string{root}, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("NewWatcher: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, changes)
	}()

	steps := []struct {
		name string
		do   func() error
	}{
		{"recording written in an existing folder", func() error {
			return os.WriteFile(filepath.Join(existing, "a.avi"), []byte("RIFF"), 0o644)
		}},
		{"camera folder created", func() error { return os.Mkdir(filepath.Join(root, "cam-b"), 0o755) }},
		{"recording written in the new folder", func() error {
			return os.WriteFile(filepath.Join(root, "cam-b", "b.avi"), []byte("RIFF"), 0o644)
		}},
		{"camera folder removed", func() error { return os.RemoveAll(existing) }},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := step.do(); err != nil {
				t.Fatal(err)
			}
			waitChange(t, changes, step.name)
			// Drain the rest of this step's events.
			for len(changes) > 0 {
				<-changes
			}
		})
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return within 10s of cancel")
	}
}

// stepClock is a Clock whose timers the test fires.
type stepClock struct {
	timers chan chan time.Time
}

func (c *stepClock) After(time.Duration) <-chan time.Time {
	fire := make(chan time.Time, 1)
	c.timers <- fire
	return fire
}

func TestTriggersDebounceChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ticks := make(chan time.Time)
	changes := make(chan struct{})
	clock := &stepClock{timers: make(chan chan time.Time, 4)}
	out := Triggers(ctx, ticks, changes, time.Second, clock)

	for range 3 {
		changes <- struct{}{}
	}
	timer := <-clock.timers
	if len(clock.timers) != 0 {
		t.Errorf("a burst of 3 changes started %d timers, want 1", 1+len(clock.timers))
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	timer <- at
	if got := <-out; !got.Equal(at) {
		t.Errorf("trigger after the burst = %s, want %s", got, at)
	}

	tick := at.Add(time.Minute)
	ticks <- tick
	if got := <-out; !got.Equal(tick) {
		t.Errorf("trigger after a tick = %s, want %s", got, tick)
	}
}
