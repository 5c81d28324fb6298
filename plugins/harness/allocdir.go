package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/ferry-video/ferry/plugins"
)

// AllocDir is a Nomad-like allocation directory for one task, with the
// stdout and stderr FIFOs that Nomad's log collector would read.
type AllocDir struct {
	AllocID  string
	TaskName string
	Dir      string
	Stdout   *LogReader
	Stderr   *LogReader
}

// NewAllocDir builds the layout a Nomad client makes before StartTask under
// root: alloc/{logs,tmp,data}, <task>/{local,secrets,tmp} and the FIFOs
// alloc/logs/.<task>.stdout.fifo and .stderr.fifo, and starts reading both.
func NewAllocDir(root, taskName string) (*AllocDir, error) {
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
	var err error
	if a.Stdout, err = newLogReader(a.fifoPath("stdout")); err != nil {
		return nil, err
	}
	if a.Stderr, err = newLogReader(a.fifoPath("stderr")); err != nil {
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

// Close stops reading both FIFOs.
func (a *AllocDir) Close() {
	a.Stdout.Close()
	a.Stderr.Close()
}

// LogReader collects what a plugin writes to one FIFO.
type LogReader struct {
	file *os.File

	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogReader(path string) (*LogReader, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("create fifo %q: %w", path, err)
	}
	// Opening read-write never blocks and keeps the FIFO open between
	// writers, as Nomad's log collector does across task restarts.
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open fifo %q: %w", path, err)
	}
	r := &LogReader{file: file, changed: make(chan struct{})}
	go r.read()
	return r, nil
}

func (r *LogReader) read() {
	chunk := make([]byte, 4096)
	for {
		n, err := r.file.Read(chunk)
		if n > 0 {
			r.mu.Lock()
			r.buf.Write(chunk[:n])
			close(r.changed)
			r.changed = make(chan struct{})
			r.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// String returns everything read so far.
func (r *LogReader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// WaitFor blocks until the output contains want or ctx is done.
func (r *LogReader) WaitFor(ctx context.Context, want string) error {
	for {
		r.mu.Lock()
		found := bytes.Contains(r.buf.Bytes(), []byte(want))
		changed := r.changed
		r.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("output %q does not contain %q: %w", r.String(), want, ctx.Err())
		}
	}
}

// Close stops reading.
func (r *LogReader) Close() { r.file.Close() }

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
