package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// daemonStartTimeout is the maximum time a private dockerd may take to respond
// to its API.
const daemonStartTimeout = time.Minute

// privateDaemon is a dockerd of the suite's own, with its own socket, data
// and exec roots and network namespace and no bridge or iptables rules, so
// that restarting it touches nothing outside the suite.
type privateDaemon struct {
	dir         string
	liveRestore bool
	cmd         *exec.Cmd
	exited      chan struct{}
	docker      *client.Client
}

// startPrivateDaemon starts a dockerd under a new folder in the suite's
// temporary folder. A short path keeps the socket under the 108-byte limit
// of unix socket addresses.
func (s *suite) startPrivateDaemon(ctx context.Context, liveRestore bool) (*privateDaemon, error) {
	dir, err := os.MkdirTemp("", "ferry-dockerd")
	if err != nil {
		return nil, err
	}
	d := &privateDaemon{dir: dir, liveRestore: liveRestore}
	if err := d.start(ctx); err != nil {
		d.close()
		return nil, err
	}
	if d.docker, err = client.NewClientWithOpts(client.WithHost(d.endpoint()), client.WithAPIVersionNegotiation()); err != nil {
		d.close()
		return nil, err
	}
	if err := copyTestImage(ctx, s.docker, d.docker); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *privateDaemon) endpoint() string {
	return "unix://" + filepath.Join(d.dir, "docker.sock")
}

func (d *privateDaemon) start(ctx context.Context) error {
	args := []string{
		"--host", d.endpoint(),
		"--data-root", filepath.Join(d.dir, "data"),
		"--exec-root", filepath.Join(d.dir, "exec"),
		"--pidfile", filepath.Join(d.dir, "docker.pid"),
		"--bridge", "none", "--iptables=false", "--ip-masq=false",
	}
	if d.liveRestore {
		args = append(args, "--live-restore")
	}
	logFile, err := os.OpenFile(filepath.Join(d.dir, "dockerd.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// dockerd started with --bridge none deletes the host's docker0
	// interface, which the machine's own dockerd uses, so the private one
	// runs in a network namespace of its own.
	cmd := exec.Command("unshare", append([]string{"--net", "dockerd"}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// A process group of its own keeps the terminal's SIGINT from killing
	// dockerd before close has removed its containers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start private dockerd: %w", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	return d.waitReady(ctx)
}

func (d *privateDaemon) logTail() string {
	data, _ := os.ReadFile(filepath.Join(d.dir, "dockerd.log"))
	return string(data[max(0, len(data)-400):])
}

func (d *privateDaemon) waitReady(ctx context.Context) error {
	docker, err := client.NewClientWithOpts(client.WithHost(d.endpoint()), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	defer docker.Close()
	deadline := time.Now().Add(daemonStartTimeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := docker.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("private dockerd exited at start: %w; its log ends with %q", err, d.logTail())
		default:
		}
		if ctx.Err() != nil {
			return fmt.Errorf("wait for private dockerd at %s: %w", d.endpoint(), ctx.Err())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("private dockerd at %s did not answer within %s: %w", d.endpoint(), daemonStartTimeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends sig to dockerd and waits for it to exit, sending SIGKILL after
// 30 seconds.
func (d *privateDaemon) stop(sig syscall.Signal) error {
	if d.cmd == nil {
		return nil
	}
	if err := d.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal private dockerd: %w", err)
	}
	select {
	case <-d.exited:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
	}
	d.cmd = nil
	// dockerd has its containerd killed when it exits. A new dockerd that
	// finds that containerd's pid alive, as a zombie not yet reaped,
	// waits for its socket in vain and exits, so the stale pid file goes.
	if pid := d.containerdPid(); pid > 0 {
		waitGone(pid)
		if !processAlive(pid) {
			os.Remove(filepath.Join(d.dir, "exec", "containerd", "containerd.pid"))
		}
	}
	return nil
}

// processAlive reports whether pid runs and is not a zombie.
func processAlive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(stat), ") Z ")
}

func (d *privateDaemon) containerdPid() int {
	data, err := os.ReadFile(filepath.Join(d.dir, "exec", "containerd", "containerd.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return pid
}

// waitGone waits up to ten seconds until pid is gone or a zombie.
func waitGone(pid int) {
	if pid <= 0 {
		return
	}
	for range 100 {
		if !processAlive(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restart stops dockerd with sig and starts it again on the same roots.
func (d *privateDaemon) restart(ctx context.Context, sig syscall.Signal) error {
	if err := d.stop(sig); err != nil {
		return err
	}
	return d.start(ctx)
}

// hasExited reports whether the dockerd that start ran has exited.
func (d *privateDaemon) hasExited() bool {
	select {
	case <-d.exited:
		return true
	default:
		return false
	}
}

// daemonCloseTimeout is the maximum time close may take to start dockerd
// again and remove its containers.
const daemonCloseTimeout = 2 * time.Minute

// close removes every container, stops dockerd and the containerd it
// started, and removes the folder. It uses a context of its own, because
// the run's context is already cancelled after an interrupt.
func (d *privateDaemon) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), daemonCloseTimeout)
	defer cancel()
	var errs []error
	if d.cmd != nil && d.hasExited() {
		// dockerd died on its own or from a signal, so clear its state
		// and start it again below.
		errs = append(errs, d.stop(syscall.SIGTERM))
	}
	if d.cmd == nil && d.docker != nil {
		// Start dockerd again after a failed restart, so that it removes
		// the containers.
		errs = append(errs, d.start(ctx))
	}
	if d.docker != nil && d.cmd != nil {
		// An interrupt can stop a restart before dockerd responds, so wait
		// for it here, with the fresh context.
		errs = append(errs, d.waitReady(ctx))
		list, err := d.docker.ContainerList(ctx, container.ListOptions{All: true})
		errs = append(errs, err)
		for _, c := range list {
			errs = append(errs, d.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}))
		}
	}
	if d.docker != nil {
		d.docker.Close()
	}
	errs = append(errs, d.stop(syscall.SIGTERM))
	errs = append(errs, stopContainerd(d.containerdPid()))
	errs = append(errs, unmountUnder(d.dir))
	errs = append(errs, os.RemoveAll(d.dir))
	return errors.Join(errs...)
}

// stopContainerd stops the containerd that dockerd leaves running with
// live restore, if pid is still a containerd.
func stopContainerd(pid int) error {
	if pid <= 0 {
		return nil
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), "containerd") {
		return nil
	}
	proc, _ := os.FindProcess(pid)
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return nil
	}
	waitGone(pid)
	return nil
}

// unmountUnder detaches every mount below dir, deepest first: dockerd
// bind-mounts its data root and leaves it mounted when it is killed.
func unmountUnder(dir string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			points = append(points, fields[4])
		}
	}
	var errs []error
	for i := len(points) - 1; i >= 0; i-- {
		if err := syscall.Unmount(points[i], syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", points[i], err))
		}
	}
	return errors.Join(errs...)
}
