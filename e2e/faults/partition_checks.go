package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// partitionSettle bounds how long the cluster may take after a heal to
// reconnect the client and stop the stale copies.
const partitionSettle = 2 * time.Minute

// overlapSlack bounds how long after the heal both copies of a camera's
// analysis may still run: the client's heartbeat retry, at most 30 s in
// Nomad's client, plus the stop.
const overlapSlack = 45 * time.Second

// groupCopy is the allocation that runs a group and its container.
type groupCopy struct {
	allocID string
	nodeID  string
	// containerID and startedAt are empty while no container runs.
	containerID  string
	startedAt    string
	clientStatus string
}

func (c *netCluster) registerJob(ctx context.Context, hcl string) error {
	job, err := c.api.ParseJob(ctx, hcl, "")
	if err != nil {
		return fmt.Errorf("parse job: %w", err)
	}
	if _, err := c.api.RegisterJob(ctx, job); err != nil {
		return fmt.Errorf("register job: %w", err)
	}
	return nil
}

// waitPartitionSettled waits until every client is ready and every group
// has exactly one live allocation, running in one running container, and
// returns those. Once partitionSettle passes it counts each group without
// a copy as lost and each extra copy as a duplicate, and returns what runs.
func (s *suite) waitPartitionSettled(ctx context.Context, c *netCluster, before map[string]*groupCopy) (map[string]*groupCopy, error) {
	wctx, cancel := context.WithTimeout(ctx, partitionSettle)
	defer cancel()
	var copies map[string][]*groupCopy
	var summary string
	err := cluster.Poll(wctx, "the partition job to settle", func(ctx context.Context) (bool, error) {
		var err error
		copies, summary, err = s.liveCopies(ctx, c)
		if err != nil || !c.nodesReady(ctx) {
			return false, err
		}
		// Nomad delays the replacement of an allocation that a running
		// deployment has not yet marked healthy.
		d, err := c.api.LatestDeployment(ctx, partitionJobID)
		if err != nil || (d.ID != "" && d.Status != "successful") {
			return false, err
		}
		for _, g := range partitionGroups {
			if len(copies[g]) != 1 || !copies[g][0].running() {
				return false, nil
			}
		}
		return true, nil
	})
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && copies == nil {
		return nil, err
	}
	if err != nil {
		s.logger.Error("partition job did not settle", "error", err, "allocations", summary)
	}
	out := make(map[string]*groupCopy)
	for _, g := range partitionGroups {
		copies[g] = slices.DeleteFunc(copies[g], func(c *groupCopy) bool { return !c.running() })
		switch n := len(copies[g]); {
		case n == 0:
			s.logger.Error("group has no running copy", "group", g, "allocations", summary)
			s.report.TasksLost++
		case n > 1:
			s.logger.Error("group runs more than one copy", "group", g, "copies", n, "allocations", summary)
			s.report.Duplicates += n - 1
		}
		if len(copies[g]) == 0 {
			continue
		}
		// With an extra copy left, prefer the one that ran before, so
		// that the checks compare it with its earlier container.
		out[g] = copies[g][0]
		if b := before[g]; b != nil {
			if i := slices.IndexFunc(copies[g], func(c *groupCopy) bool { return c.allocID == b.allocID }); i >= 0 {
				out[g] = copies[g][i]
			}
		}
	}
	return out, nil
}

// liveCopies returns, per group, the allocations that are not terminal
// together with their one running container, and a summary of every
// allocation for the log. An allocation whose container is not running
// yet is left out.
func (s *suite) liveCopies(ctx context.Context, c *netCluster) (map[string][]*groupCopy, string, error) {
	allocs, err := c.api.JobAllocations(ctx, partitionJobID)
	if err != nil {
		return nil, "", err
	}
	copies := make(map[string][]*groupCopy)
	var states []string
	for _, a := range allocs {
		states = append(states, fmt.Sprintf("%s/%s@%s=%s/%s", a.TaskGroup, a.ID[:8], a.NodeName, a.DesiredStatus, a.ClientStatus))
		if a.Terminal() {
			continue
		}
		gc := &groupCopy{allocID: a.ID, nodeID: a.NodeID, clientStatus: a.ClientStatus}
		info, n, err := allocContainer(ctx, s, a.ID)
		if err != nil {
			return nil, "", err
		}
		if n > 0 && info.State != nil && info.State.Running {
			gc.containerID, gc.startedAt = info.ID, info.State.StartedAt
		}
		copies[a.TaskGroup] = append(copies[a.TaskGroup], gc)
	}
	return copies, strings.Join(states, " "), nil
}

// running reports whether Nomad reports the copy running and its
// container runs.
func (g *groupCopy) running() bool {
	return g.clientStatus == "running" && g.containerID != ""
}

func (c *netCluster) nodesReady(ctx context.Context) bool {
	nodes, err := c.api.Nodes(ctx)
	if err != nil {
		return false
	}
	ready := 0
	for _, n := range nodes {
		if n.Status == "ready" && c.clientIndex(n.ID) >= 0 {
			ready++
		}
	}
	return ready == len(c.clients)
}

// waitReplaced waits until Nomad has marked the cut client disconnected
// and started a replacement elsewhere for each group that ran on it.
func (s *suite) waitReplaced(ctx context.Context, c *netCluster, node *netAgent, before map[string]*groupCopy) error {
	wctx, cancel := context.WithTimeout(ctx, 2*minHeartbeatTTL+heartbeatGrace+time.Minute)
	defer cancel()
	var status, summary string
	err := cluster.Poll(wctx, "node "+node.name+" to be disconnected and its allocations replaced", func(ctx context.Context) (bool, error) {
		n, err := c.api.Node(ctx, node.nodeID)
		if err != nil {
			return false, err
		}
		status = n.Status
		if n.Status == "ready" {
			return false, nil
		}
		copies, all, err := s.liveCopies(ctx, c)
		if err != nil {
			return false, err
		}
		summary = all
		for g, b := range before {
			if b.nodeID != node.nodeID {
				continue
			}
			if !slices.ContainsFunc(copies[g], func(c *groupCopy) bool { return c.nodeID != node.nodeID && c.running() }) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("%w (node status %q, allocations: %s; agent logs under %s)", err, status, summary, c.dir)
	}
	return nil
}

// checkPartitionRound counts copies that a short cut replaced or
// restarted, copies on the other client that changed, and measures how
// long a replaced copy ran together with its replacement.
func (s *suite) checkPartitionRound(ctx context.Context, c *netCluster, before, after map[string]*groupCopy, f partitionFault, cut time.Duration) {
	cutNode := c.clients[f.client].nodeID
	for _, g := range partitionGroups {
		b, a := before[g], after[g]
		if b == nil || a == nil {
			continue
		}
		if f.long && b.nodeID == cutNode {
			s.measureOverlap(ctx, c, g, b, a, cut)
			continue
		}
		if a.allocID != b.allocID || a.containerID != b.containerID || a.startedAt != b.startedAt {
			s.logger.Error("running copy replaced or restarted by a cut", "group", g, "long", f.long,
				"alloc_id", b.allocID, "now_alloc_id", a.allocID, "started_at", b.startedAt, "now_started_at", a.startedAt)
			s.report.RestartedWithoutNeed++
		}
	}
}

// measureOverlap records the time the stale copy b and its replacement a
// both ran, from the task start and finish times the clients reported.
func (s *suite) measureOverlap(ctx context.Context, c *netCluster, group string, b, a *groupCopy, cut time.Duration) {
	if a.allocID == b.allocID {
		// Nomad kept the original copy and stopped the replacement.
		s.logger.Warn("original copy kept after reconnect", "group", group, "alloc_id", b.allocID)
		return
	}
	orig, err := c.taskTimes(ctx, b.allocID)
	if err != nil {
		s.logger.Error("read task times of the stale copy failed", "alloc_id", b.allocID, "error", err)
		return
	}
	repl, err := c.taskTimes(ctx, a.allocID)
	if err != nil {
		s.logger.Error("read task times of the replacement failed", "alloc_id", a.allocID, "error", err)
		return
	}
	overlap := max(orig.FinishedAt.Sub(repl.StartedAt), 0)
	s.logger.Info("stale copy stopped after reconnect", "group", group, "alloc_id", b.allocID, "replacement_alloc_id", a.allocID, "overlap", overlap, "cut", cut)
	s.report.OverlapMaxS = max(s.report.OverlapMaxS, overlap.Seconds())
	if orig.FinishedAt.IsZero() || overlap > cut+overlapSlack {
		s.logger.Error("copies of one group overlapped beyond the bound", "group", group, "overlap", overlap, "bound", cut+overlapSlack)
		s.report.Duplicates++
	}
}

// taskTime is a task's start and finish time as its client reported them.
type taskTime struct {
	StartedAt  time.Time
	FinishedAt time.Time
}

func (c *netCluster) taskTimes(ctx context.Context, allocID string) (taskTime, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api.Address+"/v1/allocation/"+url.PathEscape(allocID), nil)
	if err != nil {
		return taskTime{}, err
	}
	resp, err := c.api.HTTP.Do(req)
	if err != nil {
		return taskTime{}, err
	}
	defer resp.Body.Close()
	var alloc struct {
		TaskStates map[string]taskTime
	}
	if resp.StatusCode != http.StatusOK {
		return taskTime{}, fmt.Errorf("GET allocation %q: %s", allocID, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&alloc); err != nil {
		return taskTime{}, fmt.Errorf("decode allocation %q: %w", allocID, err)
	}
	return alloc.TaskStates["analysis"], nil
}

// finishPartitionJob purges the job and counts the containers the video
// drivers left on either client.
func (s *suite) finishPartitionJob(ctx context.Context, c *netCluster) error {
	if err := c.purgeJobs(ctx); err != nil {
		return err
	}
	saved := s.nodeID
	defer func() { s.nodeID = saved }()
	for _, a := range c.clients {
		s.nodeID = a.nodeID
		strays, err := s.removeStrays(ctx, s.docker, strayGrace)
		s.report.StrayContainers += strays
		if err != nil {
			return err
		}
	}
	return nil
}
