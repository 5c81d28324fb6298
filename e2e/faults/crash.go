package main

import (
	"context"
	"fmt"
	"time"
)

// crashTasks is how many counter tasks run while the plugin is killed.
const crashTasks = 2

// strayGrace is how long the suite waits for the driver to remove
// containers it created but never returned a handle for.
const strayGrace = 20 * time.Second

// crashFault is where in a round the plugin is killed.
type crashFault struct {
	// duringStart kills the plugin while a StartTask call runs.
	duringStart bool
	// delay is the time from the start of the call, or from the end of
	// the previous round, to the kill.
	delay time.Duration
}

// pickCrashFault draws a fault point: half of the kills hit a StartTask
// call within its first 400 ms, when the container is being created.
func (s *suite) pickCrashFault() crashFault {
	if s.rng.Intn(2) == 0 {
		return crashFault{duringStart: true, delay: s.randomDelay(400 * time.Millisecond)}
	}
	return crashFault{delay: s.randomDelay(time.Second)}
}

// runCrashScenario kills the plugin with SIGKILL at a random point in each
// round, relaunches it and recovers every task it returned a handle for.
func runCrashScenario(ctx context.Context, s *suite, rounds int) (int, error) {
	faults := make([]crashFault, rounds)
	for i := range faults {
		faults[i] = s.pickCrashFault()
	}
	return s.crashRounds(ctx, faults)
}

func (s *suite) crashRounds(ctx context.Context, faults []crashFault) (int, error) {
	p, err := s.launchPlugin(ctx, pluginOptions{})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	var tasks []*task
	done := 0
	for _, fault := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if tasks, err = s.crashRound(ctx, p, tasks, fault); err != nil {
			return done, err
		}
		done++
	}
	// An interrupted run still stops its tasks and removes what it
	// started.
	cleanup := context.WithoutCancel(ctx)
	for _, t := range tasks {
		if err := s.finishTask(cleanup, p, s.docker, t); err != nil {
			return done, err
		}
	}
	strays, err := s.removeStrays(cleanup, s.docker, strayGrace)
	s.report.StrayContainers += strays
	return done, err
}

// crashRound keeps crashTasks tasks running, finishes one of them now and
// then to check its log, kills the plugin and recovers the tasks.
func (s *suite) crashRound(ctx context.Context, p *plugin, tasks []*task, fault crashFault) ([]*task, error) {
	if len(tasks) > 0 && s.rng.Intn(3) == 0 {
		if err := s.finishTask(ctx, p, s.docker, tasks[0]); err != nil {
			return nil, err
		}
		tasks = tasks[1:]
	}
	for len(tasks) < crashTasks {
		t, err := s.startTask(ctx, p, s.docker, "counter")
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}

	var started chan *task
	if fault.duringStart {
		alloc, cfg, err := s.newTaskConfig(ctx, p, "counter")
		if err != nil {
			return nil, err
		}
		started = make(chan *task, 1)
		go func() {
			handle, _, err := p.Driver.StartTask(ctx, cfg)
			if err != nil {
				// Nomad would never learn of a container created by this
				// call, so the driver must remove it.
				alloc.Close()
				started <- nil
				return
			}
			started <- &task{alloc: alloc, cfg: cfg, handle: handle}
		}()
	}
	time.Sleep(fault.delay)
	if err := p.Kill(); err != nil {
		return nil, err
	}
	if started != nil {
		if t := <-started; t != nil {
			if err := s.recordStart(ctx, t); err != nil {
				return nil, err
			}
			tasks = append(tasks, t)
		}
	}
	if err := p.relaunch(ctx); err != nil {
		return nil, fmt.Errorf("relaunch plugin: %w", err)
	}
	return s.recoverTasks(ctx, p, s.docker, tasks)
}

// recordStart stores the start time of the container of a task whose
// StartTask returned just before the kill.
func (s *suite) recordStart(ctx context.Context, t *task) error {
	info, _, err := taskContainer(ctx, s.docker, t.cfg.ID)
	if err != nil {
		return err
	}
	if info.State != nil {
		t.startedAt = info.State.StartedAt
	}
	return nil
}
