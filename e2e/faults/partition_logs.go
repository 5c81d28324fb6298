package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferry-video/ferry/plugins/harness"
)

// logCatchUpTimeout bounds the wait for a client's video driver to copy
// the lines its container printed into the alloc's log files.
const logCatchUpTimeout = 20 * time.Second

// checkPartitionLogs compares, for each running copy, the lines its
// container printed since the previous check with the alloc's log files,
// and counts lines lost or written twice. Each line is compared once,
// so that a difference counts in one round only.
func (s *suite) checkPartitionLogs(ctx context.Context, c *netCluster, copies map[string]*groupCopy) error {
	if c.logsChecked == nil {
		c.logsChecked = make(map[string]int)
	}
	for g, cp := range copies {
		if cp == nil || cp.containerID == "" {
			continue
		}
		i := c.clientIndex(cp.nodeID)
		if i < 0 {
			continue
		}
		logDir := filepath.Join(c.clients[i].dir, "alloc", cp.allocID, "alloc", "logs")
		printed, written, err := s.caughtUpLogs(ctx, cp.containerID, logDir)
		if err != nil {
			return fmt.Errorf("compare logs of group %q: %w", g, err)
		}
		bound := maxLine(printed)
		lost, duplicated := compareLineRange(printed, written, c.logsChecked[cp.allocID]+1, bound)
		s.logger.Debug("alloc log checked", "group", g, "alloc_id", cp.allocID, "from_line", c.logsChecked[cp.allocID]+1, "to_line", bound)
		c.logsChecked[cp.allocID] = bound
		if lost+duplicated > 0 {
			s.logger.Error("alloc log differs from the container's output after a cut", "group", g, "alloc_id", cp.allocID, "lines_lost", lost, "lines_duplicated", duplicated)
		}
		s.report.LogLinesLost += lost
		s.report.LogLinesDuplicated += duplicated
	}
	return nil
}

// caughtUpLogs reads the container's output, then waits until the log
// files in logDir hold its last line, and returns both.
func (s *suite) caughtUpLogs(ctx context.Context, containerID, logDir string) (printed, written []byte, err error) {
	if printed, err = containerStdout(ctx, s.docker, containerID); err != nil {
		return nil, nil, err
	}
	last := maxLine(printed)
	deadline := time.Now().Add(logCatchUpTimeout)
	for {
		written, err = harness.ReadRotatedLogs(logDir, "analysis", "stdout")
		if err != nil {
			return nil, nil, err
		}
		if maxLine(written) >= last || time.Now().After(deadline) {
			return printed, written, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// compareLineRange counts as compareLines does, for the lines numbered
// from `from` to `to` only.
func compareLineRange(printed, written []byte, from, to int) (lost, duplicated int) {
	want, got := numberedLines(printed), numberedLines(written)
	for n := from; n <= to; n++ {
		lost += max(want[n]-got[n], 0)
		duplicated += max(got[n]-want[n], 0)
	}
	return lost, duplicated
}
