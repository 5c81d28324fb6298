package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// pullKillWindow is the range of the kill delay from the start of the
// StartTask call. A StartTask that pulls at pullRate took 2.9 to 3.1 s on
// a 2-core test machine, so some kills land after it returned.
const pullKillWindow = 3500 * time.Millisecond

// pullFault is the time from the start of StartTask to the kill.
type pullFault struct {
	delay time.Duration
}

// runPullScenario kills the plugin at a random point while StartTask pulls
// an image through a throttled loopback registry, relaunches it and
// recovers the task or, when StartTask returned no handle, starts it again
// as Nomad does.
func runPullScenario(ctx context.Context, s *suite, rounds int) (int, error) {
	faults := make([]pullFault, rounds)
	for i := range faults {
		faults[i] = pullFault{delay: s.randomDelay(pullKillWindow)}
	}
	return s.pullRounds(ctx, faults)
}

func (s *suite) pullRounds(ctx context.Context, faults []pullFault) (done int, err error) {
	reg, err := s.startPullRegistry(ctx)
	if err != nil {
		return 0, err
	}
	defer reg.close()
	cleanup := context.WithoutCancel(ctx)
	defer func() {
		err = errors.Join(err, removeImage(cleanup, s.docker, reg.image))
	}()
	p, err := s.launchPlugin(ctx, pluginOptions{})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	p.image = reg.image

	for _, fault := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if err := s.pullRound(ctx, p, reg, fault); err != nil {
			return done, err
		}
		done++
	}
	strays, err := s.removeStrays(cleanup, s.docker, strayGrace)
	s.report.StrayContainers += strays
	return done, err
}

// pullRound removes the image from the daemon, starts a task that pulls it
// and kills the plugin after fault.delay. The task must then run in exactly
// one container.
func (s *suite) pullRound(ctx context.Context, p *plugin, reg *pullRegistry, fault pullFault) error {
	if err := removeImage(ctx, s.docker, reg.image); err != nil {
		return err
	}
	reg.rate.Store(pullRate)
	alloc, cfg, err := s.newTaskConfig(ctx, p, "pulled")
	if err != nil {
		return err
	}
	started := make(chan *plugins.TaskHandle, 1)
	go func() {
		handle, _, err := p.Driver.StartTask(ctx, cfg)
		if err != nil {
			handle = nil
		}
		started <- handle
	}()
	time.Sleep(fault.delay)
	if err := p.Kill(); err != nil {
		return err
	}
	handle := <-started
	if err := p.relaunch(ctx); err != nil {
		return fmt.Errorf("relaunch plugin: %w", err)
	}
	s.logger.Debug("plugin killed during pull", "task_id", cfg.ID, "delay", fault.delay, "had_handle", handle != nil)

	t := &task{alloc: alloc, cfg: cfg, handle: handle}
	if handle != nil {
		if err := s.recordStart(ctx, t); err != nil {
			return err
		}
		running, err := s.recoverTasks(ctx, p, s.docker, []*task{t})
		if err != nil || len(running) == 0 {
			return err
		}
	} else if t, err = s.startAgain(ctx, p, alloc, cfg); err != nil || t == nil {
		return err
	}
	if err := s.checkAllocOnce(ctx, alloc.AllocID); err != nil {
		return err
	}
	return s.finishTask(ctx, p, s.docker, t)
}

// startAgain sends StartTask with a new task ID under the same alloc and
// task name, as Nomad's task runner does on every attempt (buildTaskConfig
// in client/allocrunner/taskrunner, Nomad 2.0). The driver must remove any
// container of the attempt cut off by the kill. It returns nil after
// counting a task lost.
func (s *suite) startAgain(ctx context.Context, p *plugin, alloc *harness.AllocDir, cfg *plugins.TaskConfig) (*task, error) {
	retry := *cfg
	retry.ID = cfg.ID[:strings.LastIndex(cfg.ID, "/")+1] + randomHex(4)
	before, err := harness.ReadRotatedLogs(filepath.Join(alloc.Dir, "alloc", "logs"), cfg.Name, "stdout")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	t := &task{alloc: alloc, cfg: &retry, logsBefore: before}
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	begin := time.Now()
	t.handle, _, err = p.Driver.StartTask(rctx, &retry)
	s.logger.Debug("task started again", "task_id", retry.ID, "duration", time.Since(begin), "error", err)
	if err != nil {
		s.logger.Error("task not started again after a kill during its pull", "task_id", retry.ID, "error", err)
		s.report.TasksLost++
		s.forget(ctx, p, s.docker, t)
		return nil, nil
	}
	if err := s.recordStart(ctx, t); err != nil {
		return nil, err
	}

	strays, err := s.waitGone(ctx, cfg.ID, strayGrace)
	s.report.StrayContainers += strays
	return t, err
}

// waitGone waits up to grace for the containers of taskID to go, then
// removes those left and returns how many there were.
func (s *suite) waitGone(ctx context.Context, taskID string, grace time.Duration) (int, error) {
	deadline := time.Now().Add(grace)
	for {
		list, err := listContainers(ctx, s.docker, labelTaskID, taskID)
		if err != nil || len(list) == 0 {
			return 0, err
		}
		if time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		for _, c := range list {
			s.logger.Error("container of a StartTask cut off by a kill was left", "task_id", taskID, "container_id", c.ID, "state", c.State)
			if err := s.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
				return len(list), fmt.Errorf("remove stray container %q: %w", c.ID, err)
			}
		}
		return len(list), nil
	}
}

// checkAllocOnce counts a duplicate for every running container of allocID
// beyond the first.
func (s *suite) checkAllocOnce(ctx context.Context, allocID string) error {
	list, err := s.docker.ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", labelAllocID+"="+allocID), filters.Arg("status", "running")),
	})
	if err != nil {
		return fmt.Errorf("list running containers of alloc %q: %w", allocID, err)
	}
	if len(list) > 1 {
		s.logger.Error("alloc runs in more than one container", "alloc_id", allocID, "containers", len(list))
		s.report.Duplicates += len(list) - 1
	}
	return nil
}
