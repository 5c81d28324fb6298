package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// stopTimeout bounds each phase of Stop: job teardown, and each agent's
// graceful exit.
const stopTimeout = 45 * time.Second

// Stop stops every job so that the video driver removes its containers,
// then stops the agents (SIGINT, then SIGKILL after a timeout). It kills any
// video plugin process they left and removes containers they left running.
// Last it unmounts what Nomad mounted under the cluster folder and removes
// that folder. It returns every error it met and keeps going after each one.
func (c *Cluster) Stop() error {
	nodeIDs := c.nodeIDs()

	var errs []error
	if c.API != nil && c.exited() == nil {
		errs = append(errs, c.stopJobs())
	}
	for i := len(c.Clients) - 1; i >= 0; i-- {
		errs = append(errs, c.Clients[i].stop())
	}
	if c.Server != nil {
		errs = append(errs, c.Server.stop())
	}
	errs = append(errs, c.killPlugins())
	errs = append(errs, removeContainers(nodeIDs))
	errs = append(errs, unmountUnder(c.Dir))
	for _, agent := range c.Clients {
		removeCgroups("ferry-e2e-" + filepath.Base(c.Dir) + "-" + agent.Name)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove cluster folder: %w", err))
	}
	return errors.Join(errs...)
}

// stopJobs purges every job and waits until no allocation is running.
func (c *Cluster) stopJobs() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()

	jobs, err := c.API.Jobs(ctx)
	if err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	var allocs []Allocation
	for _, job := range jobs {
		jobAllocs, err := c.API.JobAllocations(ctx, job.ID)
		if err != nil {
			return fmt.Errorf("stop job %q: %w", job.ID, err)
		}
		allocs = append(allocs, jobAllocs...)
		if err := c.API.StopJob(ctx, job.ID, true); err != nil {
			return fmt.Errorf("stop job %q: %w", job.ID, err)
		}
	}

	return Poll(ctx, "allocations to stop", func(ctx context.Context) (bool, error) {
		for _, a := range allocs {
			current, err := c.API.Allocation(ctx, a.ID)
			if err != nil {
				// A purged job's allocations disappear once garbage
				// collected; a missing allocation is a stopped one.
				continue
			}
			if current.ClientStatus == "pending" || current.ClientStatus == "running" {
				return false, nil
			}
		}
		return true, nil
	})
}

func (a *Agent) stop() error {
	if a == nil || a.cmd == nil || a.cmd.Process == nil {
		return nil
	}
	select {
	case <-a.done:
		return nil
	default:
	}

	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = a.cmd.Process.Kill()
	<-a.done
	return fmt.Errorf("nomad agent %q did not stop within %s of SIGINT and was killed", a.Name, stopTimeout)
}

// PluginPIDs returns the ids of the running processes whose executable is
// the video plugin in the agent's plugin_dir.
func (a *Agent) PluginPIDs() ([]int, error) {
	if a.PluginDir == "" {
		return nil, nil
	}
	want := filepath.Join(a.PluginDir, "video")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if exe == want {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// killPlugins kills video plugin processes that outlived their agent.
func (c *Cluster) killPlugins() error {
	var errs []error
	for _, agent := range c.Clients {
		pids, err := agent.PluginPIDs()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("kill video plugin pid %d: %w", pid, err))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder detaches every mount below dir, deepest first, because Nomad
// mounts task folders such as secrets/ inside the alloc_dir.
func unmountUnder(dir string) error {
	if dir == "" {
		return nil
	}
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()

	prefix := filepath.Clean(dir) + "/"
	var targets []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		target := unescapeMount(fields[1])
		if strings.HasPrefix(target, prefix) {
			targets = append(targets, target)
		}
	}

	var errs []error
	for i := len(targets) - 1; i >= 0; i-- {
		if err := syscall.Unmount(targets[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %q: %w", targets[i], err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount decodes the octal escapes (\040 for a space) that
// /proc/self/mounts uses in paths.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// removeCgroups removes the empty cgroup folders that a client created for
// its cgroup_parent under each cgroup v1 controller. Folders still in use
// stay, because rmdir on a busy cgroup fails.
func removeCgroups(parent string) {
	controllers, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return
	}
	for _, ctl := range controllers {
		root := filepath.Join("/sys/fs/cgroup", ctl.Name(), parent)
		removeTree(root)
	}
}

// removeTree removes a cgroup folder's child cgroups, then the folder.
func removeTree(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}
