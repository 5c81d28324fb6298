package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// pollInterval is how often waits re-read Nomad's state.
const pollInterval = 250 * time.Millisecond

// Poll calls check until it returns true, an error, or ctx ends. It returns
// the last check error or what the context reported, with what was awaited.
func Poll(ctx context.Context, what string, check func(context.Context) (bool, error)) error {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()

	var lastErr error
	for {
		ok, err := check(ctx)
		if err == nil && ok {
			return nil
		}
		lastErr = err
		select {
		case <-ctx.Done():
			verb := "timed out"
			if errors.Is(ctx.Err(), context.Canceled) {
				verb = "interrupted"
			}
			if lastErr != nil && !errors.Is(lastErr, context.Canceled) {
				return fmt.Errorf("%s waiting for %s: %w", verb, what, lastErr)
			}
			return fmt.Errorf("%s waiting for %s: %w", verb, what, ctx.Err())
		case <-ticker.C:
		}
	}
}

// waitReady waits for a leader and for every client node to be ready with a
// detected, healthy video driver, then records each client's node id.
func (c *Cluster) waitReady(ctx context.Context) error {
	err := Poll(ctx, "a Nomad leader", func(ctx context.Context) (bool, error) {
		if err := c.exited(); err != nil {
			return false, err
		}
		leader, err := c.API.Leader(ctx)
		return leader != "", err
	})
	if err != nil {
		return c.withLogs(err)
	}

	var lastState string
	err = Poll(ctx, "clients ready with a healthy video driver", func(ctx context.Context) (bool, error) {
		if err := c.exited(); err != nil {
			return false, err
		}
		nodes, err := c.API.Nodes(ctx)
		if err != nil {
			return false, err
		}
		ready, state := c.matchNodes(nodes)
		lastState = state
		return ready, nil
	})
	if err != nil {
		return c.withLogs(fmt.Errorf("%w (node states: %s)", err, lastState))
	}
	return nil
}

// matchNodes records node ids on the client agents and reports whether
// every client is ready with a healthy video driver, with a summary of the
// states seen.
func (c *Cluster) matchNodes(nodes []Node) (bool, string) {
	byName := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}

	ready := true
	var states []string
	for _, agent := range c.Clients {
		node, ok := byName[agent.Name]
		if !ok {
			ready = false
			states = append(states, agent.Name+"=unregistered")
			continue
		}
		agent.NodeID = node.ID
		video := node.Drivers["video"]
		states = append(states, fmt.Sprintf("%s=%s video.detected=%t video.healthy=%t %q",
			agent.Name, node.Status, video.Detected, video.Healthy, video.HealthDescription))
		if node.Status != "ready" || !video.Detected || !video.Healthy {
			ready = false
		}
	}
	return ready, strings.Join(states, ", ")
}

// exited returns an error when any agent process has exited.
func (c *Cluster) exited() error {
	for _, agent := range c.agents() {
		select {
		case <-agent.done:
			return fmt.Errorf("nomad agent %q exited: %v (log: %s)", agent.Name, agent.err, agent.LogPath)
		default:
		}
	}
	return nil
}

// withLogs appends the last lines of each agent's log to err, because a
// failed start is usually explained only there.
func (c *Cluster) withLogs(err error) error {
	var b strings.Builder
	for _, agent := range c.agents() {
		fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", agent.LogPath, tail(agent.LogPath, 15))
	}
	return fmt.Errorf("%w%s", err, b.String())
}

func (c *Cluster) agents() []*Agent {
	var all []*Agent
	if c.Server != nil {
		all = append(all, c.Server)
	}
	return append(all, c.Clients...)
}

// tail returns the last n lines of a file, or a note when it cannot be read.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitAllocsTerminal waits until jobID has at least want allocations and
// every one of them is complete, failed or lost, and returns them.
func (c *Cluster) WaitAllocsTerminal(ctx context.Context, jobID string, want int) ([]Allocation, error) {
	var allocs []Allocation
	var summary string
	err := Poll(ctx, fmt.Sprintf("allocations of job %q to finish", jobID), func(ctx context.Context) (bool, error) {
		var err error
		allocs, err = c.API.JobAllocations(ctx, jobID)
		if err != nil {
			return false, err
		}
		var states []string
		done := len(allocs) >= want
		for _, a := range allocs {
			states = append(states, a.TaskGroup+"="+a.ClientStatus)
			if !a.Terminal() {
				done = false
			}
		}
		summary = strings.Join(states, ", ")
		return done, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w (allocations: %s)", err, summary)
	}
	return allocs, nil
}

// WaitAllocRunning waits until the allocation's tasks are all running.
func (c *Cluster) WaitAllocRunning(ctx context.Context, allocID string) (Allocation, error) {
	var alloc Allocation
	err := Poll(ctx, fmt.Sprintf("allocation %q to run", allocID), func(ctx context.Context) (bool, error) {
		var err error
		alloc, err = c.API.Allocation(ctx, allocID)
		if err != nil {
			return false, err
		}
		return alloc.ClientStatus == "running" || alloc.Terminal(), nil
	})
	if err != nil {
		return alloc, err
	}
	if alloc.Terminal() {
		return alloc, fmt.Errorf("allocation %q ended with status %q before it ran; task events: %s",
			allocID, alloc.ClientStatus, alloc.EventSummary())
	}
	return alloc, nil
}

// EventSummary joins the task events of every task as "type: message".
func (a Allocation) EventSummary() string {
	var parts []string
	for task, state := range a.TaskStates {
		for _, e := range state.Events {
			parts = append(parts, task+": "+e.Type+": "+e.DisplayMessage)
		}
	}
	return strings.Join(parts, "; ")
}

// Terminal reports whether the allocation's client status is final.
func (a Allocation) Terminal() bool {
	switch a.ClientStatus {
	case "complete", "failed", "lost":
		return true
	}
	return false
}
