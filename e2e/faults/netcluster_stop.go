package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// stop heals every link, purges every job so that the video driver removes
// its containers, stops the agents, and then removes what they left:
// plugin processes, containers, mounts, cgroups, the namespaces and the
// folder. It copies the agents' logs to a folder that stays when keepLogs
// is true or FAULTS_KEEP_LOGS is set. It keeps going after each error and
// returns them all.
func (c *netCluster) stop(keepLogs bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for i := range c.lab.clients {
		errs = append(errs, c.lab.setLink(ctx, i, true))
	}
	if c.server != nil && c.api != nil {
		errs = append(errs, c.purgeJobs(ctx))
	}
	for _, a := range c.clients {
		errs = append(errs, a.stopAgent())
	}
	errs = append(errs, c.server.stopAgent())
	for _, a := range c.clients {
		errs = append(errs, killProcessesOf(filepath.Join(a.pluginDir, "video")))
	}
	errs = append(errs, c.removeContainers(ctx))
	errs = append(errs, unmountUnder(c.dir))
	for _, a := range c.clients {
		removeCgroups(c.cgroupPrefix + "-" + a.name)
	}
	errs = append(errs, c.lab.remove(ctx))
	if keepLogs || os.Getenv("FAULTS_KEEP_LOGS") != "" {
		c.keepLogs()
	}
	errs = append(errs, os.RemoveAll(c.dir))
	return errors.Join(errs...)
}

// keepLogs copies every agent's log to a folder that outlives the run.
func (c *netCluster) keepLogs() {
	dir, err := os.MkdirTemp("", "ferry-faults-logs")
	if err != nil {
		return
	}
	for _, a := range append([]*netAgent{c.server}, c.clients...) {
		if a != nil {
			copyExecutable(filepath.Join(a.dir, "agent.log"), filepath.Join(dir, a.name+".log"))
		}
	}
	fmt.Fprintf(os.Stderr, "kept the partition cluster's agent logs in %s\n", dir)
}

// purgeJobs purges every job and waits until no allocation runs.
func (c *netCluster) purgeJobs(ctx context.Context) error {
	jobs, err := c.api.Jobs(ctx)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var allocs []cluster.Allocation
	for _, job := range jobs {
		list, err := c.api.JobAllocations(ctx, job.ID)
		if err != nil {
			return err
		}
		allocs = append(allocs, list...)
		if err := c.api.StopJob(ctx, job.ID, true); err != nil {
			return err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return cluster.Poll(wctx, "allocations to stop", func(ctx context.Context) (bool, error) {
		for _, a := range allocs {
			current, err := c.api.Allocation(ctx, a.ID)
			if err == nil && !current.Terminal() {
				return false, nil
			}
		}
		return true, nil
	})
}

// removeContainers force-removes containers the clients' video drivers
// left, found by their node id label.
func (c *netCluster) removeContainers(ctx context.Context) error {
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer docker.Close()
	var errs []error
	for _, a := range c.clients {
		if a.nodeID == "" {
			continue
		}
		list, err := listContainers(ctx, docker, labelNodeID, a.nodeID)
		errs = append(errs, err)
		for _, ctr := range list {
			errs = append(errs, docker.ContainerRemove(ctx, ctr.ID, container.RemoveOptions{Force: true}))
		}
	}
	return errors.Join(errs...)
}

// killProcessesOf kills every process whose executable is path.
func killProcessesOf(path string) error {
	var errs []error
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != path {
			continue
		}
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill video plugin pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// removeCgroups removes a client's empty cgroup_parent folders under each
// cgroup v1 controller, children first. Busy cgroups stay.
func removeCgroups(parent string) {
	controllers, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return
	}
	for _, ctl := range controllers {
		removeCgroupTree(filepath.Join("/sys/fs/cgroup", ctl.Name(), parent))
	}
}

func removeCgroupTree(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			removeCgroupTree(filepath.Join(dir, e.Name()))
		}
	}
	_ = syscall.Rmdir(dir)
}

// copyExecutable copies src to dst with mode 0755.
func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
