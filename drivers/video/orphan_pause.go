package video

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/client"
)

// pauseState is the orphan sweep's record of the allocations whose pause
// containers it may remove.
type pauseState struct {
	mu sync.Mutex
	// allocs are the alloc ids of this node that the driver has seen in
	// CreateNetwork, StartTask, RecoverTask or on a task container of one
	// of its node ids. A pause container carries no node id, so the sweep
	// leaves the pause containers of other allocs on a shared dockerd alone.
	allocs map[string]struct{}
	// starting counts the StartTask calls in progress per alloc id. Such an
	// alloc may have no container yet while its image is pulled or its
	// cameras are staged.
	starting map[string]int
	// taskless maps an alloc id to when the sweep first found its pause
	// container with no task container of the alloc.
	taskless map[string]time.Time
}

func newPauseState() *pauseState {
	return &pauseState{
		allocs:   make(map[string]struct{}),
		starting: make(map[string]int),
		taskless: make(map[string]time.Time),
	}
}

func (s *pauseState) addAlloc(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allocs[id] = struct{}{}
}

// forgetAlloc drops an alloc whose pause container is gone.
func (s *pauseState) forgetAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.allocs, id)
	delete(s.taskless, id)
}

// beginStart marks a StartTask of the alloc as in progress. The caller
// calls endStart when StartTask returns.
func (s *pauseState) beginStart(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allocs[id] = struct{}{}
	s.starting[id]++
}

func (s *pauseState) endStart(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.starting[id]--; s.starting[id] <= 0 {
		delete(s.starting, id)
	}
}

// pauseContainer is a pause container found by the sweep.
type pauseContainer struct {
	ID      string
	AllocID string
}

// pauseSweepInput is the state that one sweep decides on.
type pauseSweepInput struct {
	pauses []pauseContainer
	// known are the alloc ids of this node.
	known map[string]struct{}
	// busy are the alloc ids with a task container, running or stopped, or
	// with a StartTask in progress.
	busy map[string]struct{}
	// taskless is the previous sweep's record of allocs without a task
	// container.
	taskless map[string]time.Time
	now      time.Time
	grace    time.Duration
}

// decidePauseOrphans returns the pause containers to remove and the new
// record of allocs without a task container. A pause container of a known
// alloc is an orphan once grace has passed since the first sweep that
// found no task container of its alloc. Any task container, running or
// stopped, resets that time, so that a task waiting out its restart delay
// keeps its network namespace. A zero grace removes nothing.
func decidePauseOrphans(in pauseSweepInput) ([]pauseContainer, map[string]time.Time) {
	taskless := make(map[string]time.Time)
	var orphans []pauseContainer
	for _, p := range in.pauses {
		if _, ok := in.known[p.AllocID]; !ok {
			continue
		}
		if _, ok := in.busy[p.AllocID]; ok {
			continue
		}
		since, seen := in.taskless[p.AllocID]
		if !seen {
			since = in.now
		}
		taskless[p.AllocID] = since
		if seen && in.grace > 0 && in.now.Sub(since) >= in.grace {
			orphans = append(orphans, p)
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].AllocID < orphans[j].AllocID })
	return orphans, taskless
}

// sweepPauses removes the pause containers of this node's allocs that have
// had no task container for orphan_grace. Nomad 2.0.6 leaves them when
// DestroyNetwork reaches a plugin process that has crashed. It holds
// networkMu, so that no CreateNetwork replaces a pause container while the
// sweep removes it, and returns how many it removed.
func (d *Driver) sweepPauses(ctx context.Context, docker *client.Client, now time.Time, grace time.Duration) int {
	d.networkMu.Lock()
	defer d.networkMu.Unlock()

	in, err := d.pauseSweepInput(ctx, docker, now, grace)
	if err != nil {
		d.logger.Warn("pause container sweep failed", "error", err)
		return 0
	}
	orphans, taskless := decidePauseOrphans(in)
	d.pauses.mu.Lock()
	d.pauses.taskless = taskless
	d.pauses.mu.Unlock()
	return d.removePauseOrphans(ctx, docker, orphans, now, grace)
}

// pauseSweepInput lists the pause containers and the allocs with task
// containers, and prunes the known allocs that have no pause container.
func (d *Driver) pauseSweepInput(ctx context.Context, docker *client.Client, now time.Time, grace time.Duration) (pauseSweepInput, error) {
	in := pauseSweepInput{now: now, grace: grace, known: make(map[string]struct{})}
	list, err := listLabelled(ctx, docker, labelRole+"="+rolePause)
	if err != nil {
		return in, err
	}
	withPause := make(map[string]struct{})
	for _, c := range list {
		alloc := c.Labels[labelNetworkAllocID]
		in.pauses = append(in.pauses, pauseContainer{ID: c.ID, AllocID: alloc})
		withPause[alloc] = struct{}{}
	}
	if in.busy, err = allocsWithTasks(ctx, docker); err != nil {
		return in, err
	}

	d.pauses.mu.Lock()
	defer d.pauses.mu.Unlock()
	for alloc := range d.pauses.starting {
		in.busy[alloc] = struct{}{}
	}
	for alloc := range d.pauses.allocs {
		if _, ok := withPause[alloc]; !ok {
			delete(d.pauses.allocs, alloc)
			continue
		}
		in.known[alloc] = struct{}{}
	}
	in.taskless = d.pauses.taskless
	return in, nil
}

// allocsWithTasks returns the alloc ids of every task container, running
// or stopped, of any node.
func allocsWithTasks(ctx context.Context, docker *client.Client) (map[string]struct{}, error) {
	list, err := listLabelled(ctx, docker, labelAllocID)
	if err != nil {
		return nil, err
	}
	busy := make(map[string]struct{}, len(list))
	for _, c := range list {
		busy[c.Labels[labelAllocID]] = struct{}{}
	}
	return busy, nil
}

// removePauseOrphans force-removes the orphaned pause containers. It holds
// lifecycleMu and checks again that the alloc has no task container and no
// StartTask in progress, so that no task joins a namespace being removed.
func (d *Driver) removePauseOrphans(ctx context.Context, docker *client.Client, orphans []pauseContainer, now time.Time, grace time.Duration) int {
	if len(orphans) == 0 {
		return 0
	}
	d.lifecycleMu.Lock()
	defer d.lifecycleMu.Unlock()

	removed := 0
	for _, p := range orphans {
		if d.allocBusy(ctx, docker, p.AllocID) {
			continue
		}
		if err := removePause(ctx, docker, p.ID); err != nil {
			d.logger.Warn("failed to remove orphan pause container", "container_id", p.ID, "alloc_id", p.AllocID, "error", err)
			continue
		}
		removed++
		d.pauses.mu.Lock()
		since := d.pauses.taskless[p.AllocID]
		d.pauses.mu.Unlock()
		d.pauses.forgetAlloc(p.AllocID)
		d.logger.Info("removed orphan pause container", "container_id", p.ID, "alloc_id", p.AllocID,
			"without_tasks_for", now.Sub(since).Round(time.Second), "orphan_grace", grace)
	}
	return removed
}

// allocBusy reports whether the alloc has a task container or a StartTask
// in progress. A failed lookup counts as busy.
func (d *Driver) allocBusy(ctx context.Context, docker *client.Client, allocID string) bool {
	d.pauses.mu.Lock()
	starting := d.pauses.starting[allocID] > 0
	d.pauses.mu.Unlock()
	if starting {
		return true
	}
	list, err := listLabelled(ctx, docker, labelAllocID+"="+allocID)
	if err != nil {
		d.logger.Warn("failed to list task containers of alloc; keeping its pause container", "alloc_id", allocID, "error", err)
		return true
	}
	return len(list) > 0
}
