package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/e2e/vcsim"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

const (
	// vcenterTasks is how many VM tasks run through every outage.
	vcenterTasks = 2
	// vcenterMaxOutage bounds the random length of an outage.
	vcenterMaxOutage = 3 * time.Second
	// reattachTimeout bounds the wait for a powered-off VM's exit after
	// vCenter is back. The watcher's backoff stays under 8s for outages
	// up to vcenterMaxOutage.
	reattachTimeout = time.Minute
)

// vcenterRig is a vsphere plugin pointed at a ferry-vcsim process, with the
// health of the plugin's latest fingerprint.
type vcenterRig struct {
	dc     *vcsim.Datacenter
	plugin *harness.Plugin
	health chan *plugins.Fingerprint
	tasks  []*vmTask
	stop   context.CancelFunc
}

// vmTask is one VM task the scenario started.
type vmTask struct {
	cfg    *plugins.TaskConfig
	vmName string
}

// runVCenterScenario takes vCenter down for a random time up to
// vcenterMaxOutage in each round while VM tasks run. It checks that the
// fingerprint reports the outage, that no task exits, and that tasks are
// re-attached afterwards: a VM powered off by an operator after the
// outage must end its task. Lost tasks count in TasksLost, and VMs left
// after the tasks are destroyed count in StrayVMs. It fits scenario.run.
func runVCenterScenario(ctx context.Context, s *suite, rounds int) (done int, err error) {
	rig, err := s.startVCenterRig(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		if closeErr := rig.close(ctx, s); err == nil {
			err = closeErr
		}
	}()
	for done < rounds && !s.expired() {
		if err := s.vcenterRound(ctx, rig); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

func (s *suite) startVCenterRig(ctx context.Context) (*vcenterRig, error) {
	dir := filepath.Join(s.tempDir, "vcenter")
	binary := filepath.Join(s.tempDir, "vsphere")
	build := exec.CommandContext(ctx, "go", "build", "-o", binary, "./plugins/cmd/vsphere")
	build.Dir = s.repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the vsphere plugin: %w: %s", err, out)
	}

	dc, err := vcsim.StartDatacenter(ctx, vcsim.DatacenterConfig{Root: s.repoRoot, Dir: dir, Owner: s.nodeID, NoGuest: true})
	if err != nil {
		return nil, err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "faults.vsphere", Level: hclog.Off, Output: os.Stderr})
	p, err := harness.Launch(binary, nil, logger)
	if err != nil {
		dc.Close()
		return nil, err
	}

	rig := &vcenterRig{dc: dc, plugin: p, health: make(chan *plugins.Fingerprint, 64)}
	hcl := strings.Replace(vcsim.PluginHCL(dc.URL, dc.Login), `fingerprint_period  = "5s"`, `fingerprint_period  = "1s"`, 1)
	if err := rig.configure(ctx, hcl); err != nil {
		rig.close(ctx, s)
		return nil, err
	}
	for i := range vcenterTasks {
		if err := rig.startTask(ctx, s, i); err != nil {
			rig.close(ctx, s)
			return nil, err
		}
	}
	return rig, nil
}

// configure sends the plugin block's config and streams fingerprints.
func (r *vcenterRig) configure(ctx context.Context, pluginHCL string) error {
	config := pluginHCL[strings.Index(pluginHCL, "config {")+len("config {") : strings.LastIndex(pluginHCL, "}\n}")]
	rpcCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	if err := r.plugin.SetConfigHCL(rpcCtx, []byte(config), "vsphere.hcl", &plugins.AgentConfig{}); err != nil {
		return fmt.Errorf("SetConfig: %w", err)
	}
	streamCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	stream, err := r.plugin.Driver.Fingerprint(streamCtx)
	if err != nil {
		return fmt.Errorf("Fingerprint: %w", err)
	}
	go func() {
		for {
			fp, err := stream.Recv()
			if err != nil {
				return
			}
			r.health <- fp
		}
	}()
	return r.waitHealth(ctx, plugins.HealthHealthy, "")
}

// waitHealth waits for a fingerprint with health and a description that
// contains text.
func (r *vcenterRig) waitHealth(ctx context.Context, health plugins.HealthState, text string) error {
	timeout := time.After(rpcTimeout)
	for {
		select {
		case fp := <-r.health:
			if fp.Health == health && strings.Contains(fp.Description, text) {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("no fingerprint with health %v and %q within %v", health, text, rpcTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// startTask starts VM task number i and stores it in r.tasks[i].
func (r *vcenterRig) startTask(ctx context.Context, s *suite, i int) error {
	rpcCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	data, err := r.plugin.EncodeTaskConfig(rpcCtx, []byte(`template = "`+vcsim.TemplateName+`"`+"\nstop_mode = \"poweroff\"\n"), "task.hcl")
	if err != nil {
		return err
	}
	alloc, err := harness.NewAllocDirFor(filepath.Join(s.tempDir, "vcenter-allocs"), fmt.Sprintf("vcenter-%d", i),
		plugins.Capabilities{DisableLogCollection: true})
	if err != nil {
		return err
	}
	alloc.Close()
	cfg := alloc.TaskConfig(data)
	cfg.NodeID = s.nodeID
	if _, _, err := r.plugin.Driver.StartTask(rpcCtx, cfg); err != nil {
		return fmt.Errorf("StartTask %q: %w", cfg.ID, err)
	}
	status, err := r.plugin.Driver.InspectTask(rpcCtx, cfg.ID)
	if err != nil {
		return fmt.Errorf("InspectTask %q: %w", cfg.ID, err)
	}
	task := &vmTask{cfg: cfg, vmName: status.Attributes["vm_name"]}
	if i < len(r.tasks) {
		r.tasks[i] = task
	} else {
		r.tasks = append(r.tasks, task)
	}
	return nil
}

// vcenterRound takes vCenter down and back, then powers off one VM and
// replaces its task.
func (s *suite) vcenterRound(ctx context.Context, r *vcenterRig) error {
	outage := s.randomDelay(vcenterMaxOutage)
	victim := s.rng.Intn(len(r.tasks))
	s.logger.Info("vCenter outage", "duration", outage, "victim_task_id", r.tasks[victim].cfg.ID)

	if err := r.dc.Stop(ctx); err != nil {
		return err
	}
	if err := r.waitHealth(ctx, plugins.HealthUnhealthy, "is unreachable"); err != nil {
		return fmt.Errorf("during the outage: %w", err)
	}
	select {
	case <-time.After(outage):
	case <-ctx.Done():
		return ctx.Err()
	}
	s.countExited(ctx, r, "during the outage")
	if err := r.dc.Restart(ctx); err != nil {
		return err
	}
	if err := r.waitHealth(ctx, plugins.HealthHealthy, ""); err != nil {
		return fmt.Errorf("after the outage: %w", err)
	}

	if err := s.checkReattached(ctx, r, r.tasks[victim]); err != nil {
		return err
	}
	if err := r.startTask(ctx, s, victim); err != nil {
		return err
	}
	s.countExited(ctx, r, "after the outage")
	return nil
}

// countExited counts in TasksLost every task that is not running and
// replaces it.
func (s *suite) countExited(ctx context.Context, r *vcenterRig, when string) {
	for i, task := range r.tasks {
		rpcCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
		status, err := r.plugin.Driver.InspectTask(rpcCtx, task.cfg.ID)
		cancel()
		if err == nil && status.State == plugins.TaskStateRunning {
			continue
		}
		s.report.TasksLost++
		s.logger.Error("VM task not running "+when, "task_id", task.cfg.ID, "status", status, "error", err)
		if err := r.startTask(ctx, s, i); err != nil {
			s.logger.Error("failed to replace a lost VM task", "task_id", task.cfg.ID, "error", err)
		}
	}
}

// checkReattached powers the task's VM off as an operator would and
// counts the task lost unless WaitTask returns, which shows that the
// driver watches the VM again. It destroys the task after.
func (s *suite) checkReattached(ctx context.Context, r *vcenterRig, task *vmTask) error {
	if err := r.dc.PowerOff(ctx, task.vmName); err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, reattachTimeout)
	res, err := r.plugin.Driver.WaitTask(waitCtx, task.cfg.ID)
	cancel()
	if err != nil {
		s.report.TasksLost++
		s.logger.Error("VM task not re-attached after the outage: its power off was not seen", "task_id", task.cfg.ID, "vm_name", task.vmName, "error", err)
	} else if res.ExitCode != 0 {
		s.logger.Warn("powered-off VM task exited non-zero", "task_id", task.cfg.ID, "exit_code", res.ExitCode, "error", res.Err)
	}
	rpcCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	return r.plugin.Driver.DestroyTask(rpcCtx, task.cfg.ID, true)
}

// close destroys the tasks, stops the plugin and vcsim, and counts the
// VMs left in StrayVMs.
func (r *vcenterRig) close(ctx context.Context, s *suite) error {
	var errs []error
	for _, task := range r.tasks {
		rpcCtx, cancel := context.WithTimeout(ctx, rpcTimeout)
		if err := r.plugin.Driver.DestroyTask(rpcCtx, task.cfg.ID, true); err != nil {
			errs = append(errs, fmt.Errorf("DestroyTask %q: %w", task.cfg.ID, err))
		}
		cancel()
	}
	if r.stop != nil {
		r.stop()
	}
	r.plugin.Close()
	left, err := r.dc.VMs(ctx, "vcenter-")
	if err != nil {
		errs = append(errs, err)
	}
	s.report.StrayVMs += len(left)
	if err := r.dc.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
