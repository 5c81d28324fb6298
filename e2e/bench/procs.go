package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat. It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// memory is a process's resident and proportional set sizes in kB, from
// /proc/<pid>/smaps_rollup.
type memory struct {
	RSSKB int64
	PSSKB int64
}

// readMemory reads the Rss and Pss lines of /proc/<pid>/smaps_rollup.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()

	var m memory
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		value, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil {
			continue
		}
		switch fields[0] {
		case "Rss:":
			m.RSSKB = value
		case "Pss:":
			m.PSSKB = value
		}
	}
	return m, scanner.Err()
}

// cpuSeconds returns the user plus system CPU time that a process has used.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in brackets may contain spaces, so fields are
	// counted from the closing bracket: utime and stime are fields 14 and
	// 15 of the whole line, 12 and 13 after the bracket.
	end := strings.LastIndexByte(string(data), ')')
	if end < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat: no closing bracket", pid)
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("parse /proc/%d/stat: %d fields after the name", pid, len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat utime: %w", pid, err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat stime: %w", pid, err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// process is one descendant of the Nomad client agent.
type process struct {
	PID  int
	Kind string
}

// descendants lists every process below root in the process tree, with
// its kind from kindOf.
func descendants(root int, kindOf func(pid int) string) ([]process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	children := make(map[int][]int)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, err := parentPID(pid)
		if err != nil {
			continue // the process exited while the list was read
		}
		children[ppid] = append(children[ppid], pid)
	}

	var out []process
	queue := append([]int(nil), children[root]...)
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		out = append(out, process{PID: pid, Kind: kindOf(pid)})
		queue = append(queue, children[pid]...)
	}
	return out, nil
}

func parentPID(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	end := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[end+1:]))
	if end < 0 || len(fields) < 2 {
		return 0, fmt.Errorf("parse /proc/%d/stat: too short", pid)
	}
	return strconv.Atoi(fields[1])
}

// processKind names a Nomad helper by its executable and first argument:
// "video_plugin", "logmon", "docker_logger", "executor", or the
// executable's base name for anything else.
func processKind(videoPlugin string) func(pid int) string {
	return func(pid int) string {
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if exe == videoPlugin {
			return "video_plugin"
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) > 1 {
			switch args[1] {
			case "logmon", "docker_logger", "executor":
				return args[1]
			}
		}
		return filepath.Base(exe)
	}
}
