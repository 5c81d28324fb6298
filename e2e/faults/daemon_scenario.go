package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// daemonTasks is how many counter tasks run while dockerd restarts.
const daemonTasks = 2

// daemonFault is how and when a round stops the private dockerd.
type daemonFault struct {
	delay  time.Duration
	signal syscall.Signal
}

func (s *suite) pickDaemonFault() daemonFault {
	sig := syscall.SIGTERM
	if s.rng.Intn(2) == 0 {
		sig = syscall.SIGKILL
	}
	return daemonFault{delay: s.randomDelay(time.Second), signal: sig}
}

// runDaemonScenario restarts a private dockerd under running tasks. With
// live restore the tasks must keep running in the same containers; without
// it WaitTask must report their exit.
func runDaemonScenario(liveRestore bool) func(context.Context, *suite, int) (int, error) {
	return func(ctx context.Context, s *suite, rounds int) (int, error) {
		faults := make([]daemonFault, rounds)
		for i := range faults {
			faults[i] = s.pickDaemonFault()
		}
		return s.daemonRounds(ctx, liveRestore, faults)
	}
}

func (s *suite) daemonRounds(ctx context.Context, liveRestore bool, faults []daemonFault) (done int, err error) {
	d, err := s.startPrivateDaemon(ctx, liveRestore)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := d.close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up private dockerd: %w", cerr))
		}
	}()
	p, err := s.launchPlugin(ctx, pluginOptions{endpoint: d.endpoint(), taskExtra: "network_mode = \"none\"\n"})
	if err != nil {
		return 0, err
	}
	defer p.Close()

	var tasks []*task
	for _, fault := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if tasks, err = s.daemonRound(ctx, p, d, tasks, fault); err != nil {
			return done, err
		}
		done++
	}
	// An interrupted run still stops its tasks and removes what it
	// started.
	cleanup := context.WithoutCancel(ctx)
	for _, t := range tasks {
		if err := s.finishTask(cleanup, p, d.docker, t); err != nil {
			return done, err
		}
	}
	strays, err := s.removeStrays(cleanup, d.docker, strayGrace)
	s.report.StrayContainers += strays
	return done, err
}

func (s *suite) daemonRound(ctx context.Context, p *plugin, d *privateDaemon, tasks []*task, fault daemonFault) ([]*task, error) {
	for len(tasks) < daemonTasks {
		t, err := s.startTask(ctx, p, d.docker, "counter")
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
	}
	time.Sleep(fault.delay)
	if err := d.restart(ctx, fault.signal); err != nil {
		return nil, err
	}
	if !d.liveRestore {
		for _, t := range tasks {
			if err := s.finishExited(ctx, p, d, t); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}

	var running []*task
	for _, t := range tasks {
		ok, err := s.checkRunning(ctx, d.docker, t)
		if err != nil {
			return nil, err
		}
		if ok && s.checkAttached(ctx, p, t) {
			running = append(running, t)
		} else {
			s.forget(ctx, p, d.docker, t)
		}
	}
	return running, nil
}

// checkAttached counts a running task as lost if the driver reports an
// exit for it.
func (s *suite) checkAttached(ctx context.Context, p *plugin, t *task) bool {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	result, err := p.Driver.WaitTask(wctx, t.cfg.ID)
	if wctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
		return true
	}
	s.logger.Error("driver reported an exit of a running task", "task_id", t.cfg.ID, "result", fmt.Sprintf("%+v", result), "error", err)
	s.report.TasksLost++
	return false
}

// finishExited waits for the driver to report the exit of a task whose
// container dockerd stopped, compares its log and destroys it. A WaitTask
// that does not return within exitTimeout counts as a lost task.
func (s *suite) finishExited(ctx context.Context, p *plugin, d *privateDaemon, t *task) error {
	defer t.alloc.Close()
	wctx, cancel := context.WithTimeout(ctx, exitTimeout)
	defer cancel()
	result, err := p.Driver.WaitTask(wctx, t.cfg.ID)
	if err != nil {
		s.logger.Error("no exit reported after dockerd restart", "task_id", t.cfg.ID, "error", err)
		s.report.TasksLost++
		s.forget(ctx, p, d.docker, t)
		return nil
	}
	info, n, err := taskContainer(ctx, d.docker, t.cfg.ID)
	if err != nil {
		return err
	}
	if n > 0 && info.State != nil && !info.State.Running && int(result.ExitCode) != info.State.ExitCode {
		// Nomad would restart or fail the task on a false exit code.
		s.logger.Error("reported exit code differs from the container's", "task_id", t.cfg.ID,
			"reported", result.ExitCode, "container", info.State.ExitCode, "result_error", result.Err)
		s.report.TasksLost++
	}
	var printed []byte
	if n > 0 {
		if printed, err = containerStdout(ctx, d.docker, info.ID); err != nil {
			return err
		}
	}
	if err := p.Driver.DestroyTask(wctx, t.cfg.ID, true); err != nil {
		return fmt.Errorf("DestroyTask %q: %w", t.cfg.ID, err)
	}
	return s.compareTaskLogs(t, printed)
}
