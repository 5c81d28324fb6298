package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
)

// bootTimeout bounds how long dockerd may take to start a restart_on_boot
// container after it starts.
const bootTimeout = 20 * time.Second

// runRebootScenario simulates reboots of a node while no Nomad server is
// reachable: the plugin and a private dockerd without live restore are
// killed with everything they started, under two tasks, one with
// restart_on_boot and one without, and dockerd starts again before the
// plugin does. The first task must come back in its one container and be
// adopted by RecoverTask. The second must stay stopped, because Nomad did
// not start it again.
func runRebootScenario(ctx context.Context, s *suite, rounds int) (done int, err error) {
	d, err := s.startPrivateDaemon(ctx, false)
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

	for range rounds {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if err := s.rebootRound(ctx, p, d); err != nil {
			return done, err
		}
		done++
	}
	// An interrupted run still stops its tasks and removes what it
	// started.
	cleanup := context.WithoutCancel(ctx)
	strays, err := s.removeStrays(cleanup, d.docker, strayGrace)
	s.report.StrayContainers += strays
	return done, err
}

func (s *suite) rebootRound(ctx context.Context, p *plugin, d *privateDaemon) error {
	p.taskExtra = "network_mode = \"none\"\nrestart_on_boot = true\n"
	bootTask, err := s.startTask(ctx, p, d.docker, "boot")
	if err != nil {
		return err
	}
	p.taskExtra = "network_mode = \"none\"\n"
	plainTask, err := s.startTask(ctx, p, d.docker, "plain")
	if err != nil {
		return err
	}

	if err := p.Kill(); err != nil {
		return err
	}
	if err := d.powerOff(); err != nil {
		return err
	}
	if err := d.start(ctx); err != nil {
		return err
	}
	if err := p.relaunch(ctx); err != nil {
		return fmt.Errorf("relaunch plugin: %w", err)
	}

	s.report.OfflineRebootTotal++
	if s.checkAdopted(ctx, p, d, bootTask) {
		s.report.OfflineRebootRecovered++
	}
	s.checkStayedStopped(ctx, p, d, plainTask)
	if err := s.finishTask(ctx, p, d.docker, bootTask); err != nil {
		return err
	}
	s.forget(ctx, p, d.docker, plainTask)
	return nil
}

// checkAdopted reports whether RecoverTask adopted the one running
// container of a restart_on_boot task after the reboot.
func (s *suite) checkAdopted(ctx context.Context, p *plugin, d *privateDaemon, t *task) bool {
	// dockerd starts containers with a restart policy in the background
	// after it starts serving its API.
	deadline := time.Now().Add(bootTimeout)
	for time.Now().Before(deadline) {
		info, _, err := taskContainer(ctx, d.docker, t.cfg.ID)
		if err == nil && info.State != nil && info.State.Running {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	if err := p.Driver.RecoverTask(rctx, t.handle); err != nil {
		s.logger.Error("restart_on_boot task not recovered after reboot", "task_id", t.cfg.ID, "error", err)
		return false
	}
	info, n, err := taskContainer(ctx, d.docker, t.cfg.ID)
	if err != nil {
		s.logger.Error("inspect restart_on_boot task after reboot failed", "task_id", t.cfg.ID, "error", err)
		return false
	}
	if n > 1 {
		s.report.Duplicates += n - 1
	}
	if n != 1 || info.State == nil || !info.State.Running {
		s.logger.Error("restart_on_boot task not running after reboot", "task_id", t.cfg.ID, "containers", n, "state", containerState(info))
		return false
	}
	if !s.checkAttached(ctx, p, t) {
		return false
	}
	return true
}

// checkStayedStopped counts a task without restart_on_boot whose container
// runs again after the reboot as restarted without need.
func (s *suite) checkStayedStopped(ctx context.Context, p *plugin, d *privateDaemon, t *task) {
	info, n, err := taskContainer(ctx, d.docker, t.cfg.ID)
	if err != nil {
		s.logger.Error("inspect task after reboot failed", "task_id", t.cfg.ID, "error", err)
		return
	}
	if n > 0 && info.State != nil && info.State.Running {
		s.logger.Error("task without restart_on_boot runs again after reboot", "task_id", t.cfg.ID)
		s.report.RestartedWithoutNeed++
	}
}

// containerState describes a container's state and restart policy for a
// log line.
func containerState(info container.InspectResponse) string {
	if info.State == nil || info.HostConfig == nil {
		return "unknown"
	}
	return fmt.Sprintf("%s, exit code %d, restart policy %q, error %q", info.State.Status, info.State.ExitCode, info.HostConfig.RestartPolicy.Name, info.State.Error)
}
