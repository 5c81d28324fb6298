package video

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

// orphanSweepTimeout bounds the Docker requests of one orphan sweep.
const orphanSweepTimeout = 30 * time.Second

// orphanState is the orphan sweep's record of node ids and of the previous
// sweep.
type orphanState struct {
	mu sync.Mutex
	// nodeIDs are the Nomad node ids from StartTask and RecoverTask. The
	// sweep looks only at containers labelled with one of them.
	nodeIDs map[string]struct{}
	// untracked are the ids of the containers that the previous sweep
	// found with a task id the driver does not track.
	untracked map[string]struct{}
	// removed counts the orphans removed since the plugin started.
	removed int
}

func newOrphanState() *orphanState {
	return &orphanState{nodeIDs: make(map[string]struct{}), untracked: make(map[string]struct{})}
}

func (s *orphanState) addNode(id string) {
	if id == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodeIDs[id] = struct{}{}
}

func (s *orphanState) nodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.nodeIDs))
	for id := range s.nodeIDs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// listLabelled returns the containers, running or not, that carry every
// label given as key=value.
func listLabelled(ctx context.Context, docker *client.Client, labels ...string) ([]container.Summary, error) {
	args := filters.NewArgs()
	for _, label := range labels {
		args.Add("label", label)
	}
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("list containers labelled %v: %w", labels, err)
	}
	return list, nil
}

func (d *Driver) isTracked(taskID string) bool {
	_, ok := d.tasks.get(taskID)
	return ok
}

// removeLeftovers force-removes the containers of this node, alloc and task
// name whose task id the driver does not track. They are left by an earlier
// start of the same task that the plugin did not return, for example because
// the plugin died during StartTask.
func (d *Driver) removeLeftovers(ctx context.Context, docker *client.Client, cfg *plugins.TaskConfig) error {
	list, err := listLabelled(ctx, docker,
		labelNodeID+"="+cfg.NodeID, labelAllocID+"="+cfg.AllocID, labelTaskName+"="+cfg.Name)
	if err != nil {
		return err
	}
	for _, c := range list {
		leftoverTaskID := c.Labels[labelTaskID]
		if d.isTracked(leftoverTaskID) {
			continue
		}
		err := docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			return fmt.Errorf("remove container %q left by an earlier start of task %q: %w", c.ID, cfg.Name, err)
		}
		d.logger.Info("removed container left by an earlier start", "task_id", cfg.ID, "alloc_id", cfg.AllocID,
			"container_id", c.ID, "leftover_task_id", leftoverTaskID)
		d.events.Publish(&plugins.TaskEvent{
			TaskID:      cfg.ID,
			AllocID:     cfg.AllocID,
			TaskName:    cfg.Name,
			Timestamp:   d.clock.Now(),
			Message:     fmt.Sprintf("Removed container %s left by an earlier start of this task", shortID(c.ID)),
			Annotations: map[string]string{"container_id": c.ID, "task_id": leftoverTaskID},
		})
	}
	return nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// sweepOrphans removes the containers of this driver's node ids that no
// tracked task owns, then the pause containers of its allocs that have had
// no task container for orphan_grace (see sweepPauses). A task container is
// an orphan when the previous sweep also found it untracked and
// orphan_grace has passed since the later of its creation and the driver's
// start. The wait gives Nomad time to call RecoverTask after a plugin or
// agent restart. It returns how many containers it removed.
func (d *Driver) sweepOrphans(ctx context.Context) int {
	plugin, docker := d.state()
	if plugin.orphanGrace == 0 {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, orphanSweepTimeout)
	defer cancel()

	now := d.clock.Now()
	untracked := make(map[string]struct{})
	var orphans []container.Summary
	for _, node := range d.orphans.nodes() {
		list, err := listLabelled(ctx, docker, labelNodeID+"="+node)
		if err != nil {
			d.logger.Warn("orphan sweep failed", "node_id", node, "error", err)
			return 0
		}
		for _, c := range list {
			d.pauses.addAlloc(c.Labels[labelAllocID])
			if d.isTracked(c.Labels[labelTaskID]) {
				continue
			}
			untracked[c.ID] = struct{}{}
			if d.isOrphan(c, now, plugin.orphanGrace) {
				orphans = append(orphans, c)
			}
		}
	}

	d.orphans.mu.Lock()
	d.orphans.untracked = untracked
	d.orphans.mu.Unlock()
	removed := d.removeOrphans(ctx, docker, orphans)
	return removed + d.sweepPauses(ctx, docker, now, plugin.orphanGrace)
}

// isOrphan reports whether the previous sweep found c untracked too and
// grace has passed since the later of its creation and the driver's start.
func (d *Driver) isOrphan(c container.Summary, now time.Time, grace time.Duration) bool {
	d.orphans.mu.Lock()
	_, seen := d.orphans.untracked[c.ID]
	d.orphans.mu.Unlock()
	if !seen {
		return false
	}
	since := time.Unix(c.Created, 0)
	if d.startedAt.After(since) {
		since = d.startedAt
	}
	return now.Sub(since) >= grace
}

// removeOrphans force-removes the orphans that are still untracked. It holds
// lifecycleMu, so that no RecoverTask adopts a container while the sweep
// removes it.
func (d *Driver) removeOrphans(ctx context.Context, docker *client.Client, orphans []container.Summary) int {
	d.lifecycleMu.Lock()
	defer d.lifecycleMu.Unlock()

	removed := 0
	for _, c := range orphans {
		taskID := c.Labels[labelTaskID]
		if d.isTracked(taskID) {
			continue
		}
		err := docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			d.logger.Warn("failed to remove orphan container", "container_id", c.ID, "task_id", taskID, "error", err)
			continue
		}
		removed++
		d.orphans.mu.Lock()
		delete(d.orphans.untracked, c.ID)
		d.orphans.removed++
		total := d.orphans.removed
		d.orphans.mu.Unlock()
		d.logger.Info("removed orphan container", "container_id", c.ID, "task_id", taskID,
			"alloc_id", c.Labels[labelAllocID], "node_id", c.Labels[labelNodeID], "removed_total", total)
	}
	return removed
}
