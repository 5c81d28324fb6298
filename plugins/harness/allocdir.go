package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ferry-video/ferry/plugins"
)

// AllocDir is a Nomad-like allocation directory for one task, with readers
// of the task's stdout and stderr as Nomad's log collector would see them.
type AllocDir struct {
	AllocID  string
	TaskName string
	Dir      string
	// Stdout and Stderr read the task's output: from the FIFOs when the
	// harness plays Nomad's log collector, else from the rotated log files
	// that a driver with DisableLogCollection writes itself.
	Stdout *LogReader
	Stderr *LogReader
}

// NewAllocDir builds the layout a Nomad client makes before StartTask under
// root: alloc/{logs,tmp,data}, <task>/{local,secrets,tmp} and the FIFOs
// alloc/logs/.<task>.stdout.fifo and .stderr.fifo, and starts reading both.
func NewAllocDir(root, taskName string) (*AllocDir, error) {
	return NewAllocDirFor(root, taskName, plugins.Capabilities{})
}

// NewAllocDirFor builds the layout NewAllocDir does for a driver with caps.
// With caps.DisableLogCollection it creates no FIFOs, as Nomad starts no log
// collector then, and Stdout and Stderr read the rotated files
// alloc/logs/<task>.stdout.<N> and .stderr.<N> in the order of N.
func NewAllocDirFor(root, taskName string, caps plugins.Capabilities) (*AllocDir, error) {
	allocID := randomHex(16)
	dir := filepath.Join(root, allocID)
	for _, sub := range []string{
		"alloc/logs", "alloc/tmp", "alloc/data",
		taskName + "/local", taskName + "/secrets", taskName + "/tmp",
	} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("create alloc dir: %w", err)
		}
	}

	a := &AllocDir{AllocID: allocID, TaskName: taskName, Dir: dir}
	if caps.DisableLogCollection {
		logDir := filepath.Join(dir, "alloc", "logs")
		a.Stdout = newRotatedLogReader(logDir, taskName, "stdout")
		a.Stderr = newRotatedLogReader(logDir, taskName, "stderr")
		return a, nil
	}

	var err error
	if a.Stdout, err = newFIFOLogReader(a.fifoPath("stdout")); err != nil {
		return nil, err
	}
	if a.Stderr, err = newFIFOLogReader(a.fifoPath("stderr")); err != nil {
		a.Stdout.Close()
		return nil, err
	}
	return a, nil
}

func (a *AllocDir) fifoPath(stream string) string {
	return filepath.Join(a.Dir, "alloc", "logs", fmt.Sprintf(".%s.%s.fifo", a.TaskName, stream))
}

// TaskConfig returns a task config like Nomad's for this directory, with a
// fresh ID of the form <alloc_id>/<task>/<8 hex characters>.
func (a *AllocDir) TaskConfig(driverConfig []byte) *plugins.TaskConfig {
	return &plugins.TaskConfig{
		ID:            fmt.Sprintf("%s/%s/%s", a.AllocID, a.TaskName, randomHex(4)),
		Name:          a.TaskName,
		JobName:       "harness",
		JobID:         "harness",
		TaskGroupName: "harness",
		Namespace:     "default",
		AllocID:       a.AllocID,
		DriverConfig:  driverConfig,
		Env:           map[string]string{"NOMAD_ALLOC_ID": a.AllocID, "NOMAD_TASK_NAME": a.TaskName},
		Resources:     &plugins.Resources{CPUShares: 100, MemoryMB: 64, MemoryLimitBytes: 64 << 20},
		AllocDir:      a.Dir,
		StdoutPath:    a.fifoPath("stdout"),
		StderrPath:    a.fifoPath("stderr"),
	}
}

// Close stops reading both streams.
func (a *AllocDir) Close() {
	a.Stdout.Close()
	a.Stderr.Close()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
