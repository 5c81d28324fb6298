package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
)

// report is the JSON object the command prints. Sizes named _mb are MiB
// (2^20 bytes), because /proc reports memory in kB of 1024 bytes.
type report struct {
	Machine         machine          `json:"machine"`
	Idle            *idleResult      `json:"idle,omitempty"`
	PerTask         []perTaskResult  `json:"per_task,omitempty"`
	SubmitToStarted *latencyResult   `json:"submit_to_started,omitempty"`
	Fingerprint     *fingerprintCost `json:"fingerprint,omitempty"`
}

// machine describes where the figures were measured.
type machine struct {
	Commit        string `json:"commit"`
	CPUs          int    `json:"cpus"`
	MemoryTotalMB int64  `json:"memory_total_mb"`
	Kernel        string `json:"kernel"`
	Docker        string `json:"docker"`
	Nomad         string `json:"nomad"`
}

func describeMachine(ctx context.Context, nomad string) machine {
	m := machine{CPUs: runtime.NumCPU()}
	m.Commit = commandLine(ctx, "git", "rev-parse", "HEAD")
	if dirty := commandLine(ctx, "git", "status", "--porcelain", "--", "drivers/video", "plugins", "go.mod"); dirty != "" {
		m.Commit += " (with uncommitted changes in drivers/video, plugins or go.mod)"
	}
	m.Docker = commandLine(ctx, "docker", "version", "--format", "{{.Server.Version}}")
	m.Nomad = commandLine(ctx, nomad, "version")
	var uts syscall.Utsname
	if err := syscall.Uname(&uts); err == nil {
		m.Kernel = utsString(uts.Release[:])
	}
	var info syscall.Sysinfo_t
	if err := syscall.Sysinfo(&info); err == nil {
		m.MemoryTotalMB = int64(info.Totalram) * int64(info.Unit) >> 20
	}
	return m
}

// commandLine returns the first line of a command's output, or "" when it
// fails.
func commandLine(ctx context.Context, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func utsString(field []int8) string {
	var b strings.Builder
	for _, c := range field {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
}

// median returns the middle value of xs, or the mean of the two middle
// values for an even count. It returns 0 for no values.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	mid := len(sorted) / 2
	if len(sorted)%2 == 1 {
		return sorted[mid]
	}
	return (sorted[mid-1] + sorted[mid]) / 2
}

// mb converts kB to MB with two decimals kept.
func mb(kb float64) float64 {
	return float64(int64(kb/1024*100+0.5)) / 100
}
