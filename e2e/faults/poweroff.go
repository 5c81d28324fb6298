package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// powerOff kills dockerd, its containerd, every containerd shim of this
// daemon and the container processes under them with SIGKILL, as a power
// loss would. Killing dockerd alone leaves the shims and containers
// running, and a dockerd without live restore then stops them at start and
// never applies their restart policy, which is not what a reboot does.
func (d *privateDaemon) powerOff() error {
	if err := d.stop(syscall.SIGKILL); err != nil {
		return err
	}
	marker := filepath.Join(d.dir, "exec")
	shims := processesMatching(func(cmdline string) bool {
		return strings.Contains(cmdline, "containerd-shim") && strings.Contains(cmdline, marker)
	})
	victims := append(descendants(shims), shims...)
	for _, pid := range victims {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range victims {
		waitGone(pid)
	}
	return nil
}

// processesMatching returns the pids whose command line matches.
func processesMatching(match func(cmdline string) bool) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && match(strings.ReplaceAll(string(cmdline), "\x00", " ")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// descendants returns every process below the given ones.
func descendants(roots []int) []int {
	children := make(map[int][]int)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command name, which may contain spaces,
		// start with the state and the parent pid.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := append([]int(nil), roots...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		for _, child := range children[pid] {
			out = append(out, child)
			queue = append(queue, child)
		}
	}
	return out
}
