package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/plugins/harness"
)

// nomadSettle bounds how long Nomad may take to relaunch the plugin and
// recover its tasks after a fault.
const nomadSettle = 2 * time.Minute

// allocContainer returns the only container labelled with allocID and how
// many there are.
func allocContainer(ctx context.Context, s *suite, allocID string) (container.InspectResponse, int, error) {
	list, err := listContainers(ctx, s.docker, labelAllocID, allocID)
	if err != nil || len(list) == 0 {
		return container.InspectResponse{}, 0, err
	}
	info, err := s.docker.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		return container.InspectResponse{}, len(list), fmt.Errorf("inspect container %q of allocation %q: %w", list[0].ID, allocID, err)
	}
	return info, len(list), nil
}

func (s *suite) nomadRound(ctx context.Context, c *cluster.Cluster, tasks []*nomadTask) error {
	client := c.Clients[0]
	time.Sleep(s.randomDelay(2 * time.Second))
	if s.rng.Intn(2) == 0 {
		s.logger.Info("killing the video plugin under Nomad")
		pids, err := client.PluginPIDs()
		if err != nil {
			return err
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if err := s.waitPluginRelaunched(ctx, client, pids); err != nil {
			return err
		}
	} else {
		s.logger.Info("restarting the Nomad client agent", "node", client.Name)
		same := func(hcl string) (string, error) { return hcl, nil }
		if err := c.RestartClient(ctx, client.Name, same); err != nil {
			return err
		}
	}
	for _, t := range tasks {
		if err := s.checkNomadTask(ctx, c, t); err != nil {
			return err
		}
	}
	return nil
}

// waitPluginRelaunched waits until the client runs a video plugin process
// other than the killed ones.
func (s *suite) waitPluginRelaunched(ctx context.Context, client *cluster.Agent, killed []int) error {
	wctx, cancel := context.WithTimeout(ctx, nomadSettle)
	defer cancel()
	return cluster.Poll(wctx, "Nomad to relaunch the video plugin", func(context.Context) (bool, error) {
		pids, err := client.PluginPIDs()
		for _, pid := range pids {
			if !slices.Contains(killed, pid) {
				return true, err
			}
		}
		return false, err
	})
}

// checkNomadTask waits until Nomad reports the allocation running again and
// then counts it as lost, duplicated or restarted from its containers and
// Nomad's task state.
func (s *suite) checkNomadTask(ctx context.Context, c *cluster.Cluster, t *nomadTask) error {
	wctx, cancel := context.WithTimeout(ctx, nomadSettle)
	defer cancel()
	var alloc cluster.Allocation
	err := cluster.Poll(wctx, "allocation "+t.allocID+" to run", func(ctx context.Context) (bool, error) {
		var err error
		alloc, err = c.API.Allocation(ctx, t.allocID)
		return err == nil && (alloc.ClientStatus != "pending" || alloc.Terminal()), err
	})
	if err != nil {
		return err
	}
	if !s.waitAllocStats(ctx, c, t) {
		s.report.TasksLost++
		return nil
	}
	state := alloc.TaskStates["counter"]
	if alloc.ClientStatus != "running" || state.State != "running" {
		s.logger.Error("allocation not running after fault", "alloc_id", t.allocID, "client_status", alloc.ClientStatus, "events", alloc.EventSummary())
		s.report.TasksLost++
		return nil
	}
	info, n, err := allocContainer(ctx, s, t.allocID)
	if err != nil {
		return err
	}
	if n > 1 {
		s.logger.Error("allocation has more than one container", "alloc_id", t.allocID, "containers", n)
		s.report.Duplicates += n - 1
	}
	switch {
	case n == 0 || info.State == nil || !info.State.Running:
		s.logger.Error("allocation container not running", "alloc_id", t.allocID)
		s.report.TasksLost++
	case info.ID != t.containerID || info.State.StartedAt != t.startedAt || state.Restarts > 0:
		s.logger.Error("allocation restarted", "alloc_id", t.allocID, "container_id", info.ID, "restarts", state.Restarts)
		s.report.RestartedWithoutNeed++
		t.containerID, t.startedAt = info.ID, info.State.StartedAt
	}
	return nil
}

// finishNomadJob compares each allocation's rotated log files with its
// container's output, stops the job and counts the containers left.
func (s *suite) finishNomadJob(ctx context.Context, c *cluster.Cluster, tasks []*nomadTask) error {
	client := c.Clients[0]
	// A recovery that fails late shows only after the last round.
	time.Sleep(5 * time.Second)
	for _, t := range tasks {
		if err := s.checkNomadTask(ctx, c, t); err != nil {
			return err
		}
	}
	var nodeID string
	for _, t := range tasks {
		info, n, err := allocContainer(ctx, s, t.allocID)
		if err != nil || n == 0 {
			continue
		}
		nodeID = info.Config.Labels[labelNodeID]
		printed, err := containerStdout(ctx, s.docker, info.ID)
		if err != nil {
			return err
		}
		// The plugin copies the output a little after the container
		// prints it.
		time.Sleep(3 * time.Second)
		logDir := filepath.Join(filepath.Dir(client.PluginDir), "alloc", t.allocID, "alloc", "logs")
		written, err := harness.ReadRotatedLogs(logDir, "counter", "stdout")
		if err != nil {
			return err
		}
		lost, duplicated := compareLines(printed, linesUpTo(written, maxLine(printed)))
		s.report.LogLinesLost += lost
		s.report.LogLinesDuplicated += duplicated
		if lost+duplicated > 0 {
			s.logger.Error("allocation log differs from the container's output", "alloc_id", t.allocID, "lines_lost", lost, "lines_duplicated", duplicated)
		}
	}
	if err := c.API.StopJob(ctx, nomadJobID, true); err != nil {
		return fmt.Errorf("stop job %q: %w", nomadJobID, err)
	}
	if nodeID == "" {
		return nil
	}
	saved := s.nodeID
	s.nodeID = nodeID
	strays, err := s.removeStrays(ctx, s.docker, strayGrace)
	s.nodeID = saved
	s.report.StrayContainers += strays
	return err
}

// maxLine returns the highest N of the lines "line N" in data.
func maxLine(data []byte) int {
	highest := 0
	for n := range numberedLines(data) {
		highest = max(highest, n)
	}
	return highest
}

// linesUpTo returns the lines of data except the numbered lines above limit.
func linesUpTo(data []byte, limit int) []byte {
	var out []byte
	for _, line := range strings.SplitAfter(string(data), "\n") {
		var n int
		if _, err := fmt.Sscanf(line, "line %d", &n); err == nil && n > limit {
			continue
		}
		out = append(out, line...)
	}
	return out
}

// waitAllocStats waits until the client returns the allocation's resource
// usage, which it reads through the driver's task handle, so that a task the
// relaunched plugin did not adopt does not pass as running.
func (s *suite) waitAllocStats(ctx context.Context, c *cluster.Cluster, t *nomadTask) bool {
	wctx, cancel := context.WithTimeout(ctx, nomadSettle)
	defer cancel()
	url := c.Server.Address + "/v1/client/allocation/" + t.allocID + "/stats"
	var lastErr error
	err := cluster.Poll(wctx, "stats of allocation "+t.allocID, func(ctx context.Context) (bool, error) {
		lastErr = getOK(ctx, url)
		return lastErr == nil, nil
	})
	if err != nil {
		s.logger.Error("allocation stats unavailable after fault", "alloc_id", t.allocID, "error", lastErr)
		return false
	}
	return true
}

func getOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return nil
}
