package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins/harness"
)

// exitTimeout bounds how long WaitTask may take to report an exit that has
// happened; a longer wait counts as a hang.
const exitTimeout = time.Minute

// startTask starts a counter task and records its container's start time.
func (s *suite) startTask(ctx context.Context, p *plugin, docker *client.Client, name string) (*task, error) {
	alloc, cfg, err := s.newTaskConfig(ctx, p, name)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	handle, _, err := p.Driver.StartTask(rctx, cfg)
	if err != nil {
		alloc.Close()
		return nil, fmt.Errorf("StartTask %q: %w", cfg.ID, err)
	}
	t := &task{alloc: alloc, cfg: cfg, handle: handle}
	info, _, err := taskContainer(ctx, docker, cfg.ID)
	if err != nil {
		return nil, err
	}
	if info.State != nil {
		t.startedAt = info.State.StartedAt
	}
	return t, nil
}

// recoverTasks sends RecoverTask for every task, as Nomad does after a
// plugin launch, and counts tasks lost, duplicated or restarted. It returns
// the tasks still running.
func (s *suite) recoverTasks(ctx context.Context, p *plugin, docker *client.Client, tasks []*task) ([]*task, error) {
	var running []*task
	for _, t := range tasks {
		rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
		err := p.Driver.RecoverTask(rctx, t.handle)
		cancel()
		if err != nil {
			s.logger.Error("task not recovered", "task_id", t.cfg.ID, "error", err)
			s.report.TasksLost++
			s.forget(ctx, p, docker, t)
			continue
		}
		ok, err := s.checkRunning(ctx, docker, t)
		if err != nil {
			return nil, err
		}
		if ok {
			running = append(running, t)
		} else {
			s.forget(ctx, p, docker, t)
		}
	}
	return running, nil
}

// checkRunning counts t as lost unless exactly one container runs it, and
// as restarted if that container's start time changed.
func (s *suite) checkRunning(ctx context.Context, docker *client.Client, t *task) (bool, error) {
	info, n, err := taskContainer(ctx, docker, t.cfg.ID)
	if err != nil {
		return false, err
	}
	if n > 1 {
		s.logger.Error("task has more than one container", "task_id", t.cfg.ID, "containers", n)
		s.report.Duplicates += n - 1
	}
	if n == 0 || info.State == nil || !info.State.Running {
		s.logger.Error("task container is not running", "task_id", t.cfg.ID, "containers", n)
		s.report.TasksLost++
		return false, nil
	}
	if info.State.StartedAt != t.startedAt {
		s.logger.Error("task container restarted", "task_id", t.cfg.ID, "started_at", t.startedAt, "now_started_at", info.State.StartedAt)
		s.report.RestartedWithoutNeed++
		t.startedAt = info.State.StartedAt
	}
	return true, nil
}

// finishTask stops t, waits for its exit, compares its rotated log files
// with the daemon's log of the container and destroys it.
func (s *suite) finishTask(ctx context.Context, p *plugin, docker *client.Client, t *task) error {
	defer t.alloc.Close()
	rctx, cancel := context.WithTimeout(ctx, exitTimeout)
	defer cancel()
	if err := p.Driver.StopTask(rctx, t.cfg.ID, 5*time.Second, "SIGTERM"); err != nil {
		return fmt.Errorf("StopTask %q: %w", t.cfg.ID, err)
	}
	if _, err := p.Driver.WaitTask(rctx, t.cfg.ID); err != nil {
		if errors.Is(rctx.Err(), context.DeadlineExceeded) {
			s.logger.Error("WaitTask hung after StopTask", "task_id", t.cfg.ID)
			s.report.TasksLost++
		}
		return fmt.Errorf("WaitTask %q: %w", t.cfg.ID, err)
	}
	info, _, err := taskContainer(ctx, docker, t.cfg.ID)
	if err != nil {
		return err
	}
	printed, err := containerStdout(ctx, docker, info.ID)
	if err != nil {
		return err
	}
	if err := p.Driver.DestroyTask(rctx, t.cfg.ID, false); err != nil {
		return fmt.Errorf("DestroyTask %q: %w", t.cfg.ID, err)
	}
	return s.compareTaskLogs(t, printed)
}

func (s *suite) compareTaskLogs(t *task, printed []byte) error {
	written, err := harness.ReadRotatedLogs(filepath.Join(t.alloc.Dir, "alloc", "logs"), t.cfg.Name, "stdout")
	if err != nil {
		return err
	}
	written = bytes.TrimPrefix(written, t.logsBefore)
	lost, dropped, duplicated := compareLinesDropping(printed, written, t.dropFrom, t.dropTo)
	s.logger.Debug("task log checked", "task_id", t.cfg.ID, "lines", len(numberedLines(printed)), "lines_lost", lost, "lines_dropped", dropped)
	s.report.LogLinesDroppedDiskFull += dropped
	if lost+duplicated > 0 {
		s.logger.Error("task log differs from the container's output", "task_id", t.cfg.ID, "lines_lost", lost, "lines_duplicated", duplicated)
	}
	s.report.LogLinesLost += lost
	s.report.LogLinesDuplicated += duplicated
	return nil
}

// forget destroys a task already counted as lost, and removes its
// containers if the driver cannot, so that they do not count as strays too.
func (s *suite) forget(ctx context.Context, p *plugin, docker *client.Client, t *task) {
	t.alloc.Close()
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	if err := p.Driver.DestroyTask(rctx, t.cfg.ID, true); err != nil {
		s.logger.Warn("DestroyTask of a lost task failed", "task_id", t.cfg.ID, "error", err)
	}
	list, err := listContainers(rctx, docker, labelTaskID, t.cfg.ID)
	if err != nil {
		s.logger.Warn("list containers of a lost task failed", "task_id", t.cfg.ID, "error", err)
	}
	for _, c := range list {
		if err := docker.ContainerRemove(rctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			s.logger.Warn("remove container of a lost task failed", "task_id", t.cfg.ID, "container_id", c.ID, "error", err)
		}
	}
}
