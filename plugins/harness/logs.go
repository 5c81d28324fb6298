package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// rotatedPollInterval is how often a reader of rotated log files checks them
// for new output. Nomad's own log readers poll the files too.
const rotatedPollInterval = 50 * time.Millisecond

// LogReader collects one output stream of a task, from a FIFO or from
// rotated log files.
type LogReader struct {
	close func()

	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogReader() *LogReader {
	return &LogReader{changed: make(chan struct{})}
}

func newFIFOLogReader(path string) (*LogReader, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("create fifo %q: %w", path, err)
	}
	// Opening read-write never blocks and keeps the FIFO open between
	// writers, as Nomad's log collector does across task restarts.
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open fifo %q: %w", path, err)
	}
	r := newLogReader()
	r.close = func() { file.Close() }
	go r.readFIFO(file)
	return r, nil
}

func (r *LogReader) readFIFO(file *os.File) {
	chunk := make([]byte, 4096)
	for {
		n, err := file.Read(chunk)
		if n > 0 {
			r.mu.Lock()
			r.buf.Write(chunk[:n])
			r.notifyLocked()
			r.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// newRotatedLogReader follows logDir/<task>.<stream>.<N> until Close.
func newRotatedLogReader(logDir, taskName, stream string) *LogReader {
	r := newLogReader()
	stop := make(chan struct{})
	var once sync.Once
	r.close = func() { once.Do(func() { close(stop) }) }
	go r.pollRotated(logDir, taskName, stream, stop)
	return r
}

func (r *LogReader) pollRotated(logDir, taskName, stream string, stop <-chan struct{}) {
	ticker := time.NewTicker(rotatedPollInterval)
	defer ticker.Stop()
	for {
		// A read error, such as a file rotated away between listing and
		// reading, is retried on the next tick.
		if data, err := ReadRotatedLogs(logDir, taskName, stream); err == nil {
			r.mu.Lock()
			if !bytes.Equal(data, r.buf.Bytes()) {
				r.buf.Reset()
				r.buf.Write(data)
				r.notifyLocked()
			}
			r.mu.Unlock()
		}
		select {
		case <-ticker.C:
		case <-stop:
			return
		}
	}
}

func (r *LogReader) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// ReadRotatedLogs returns the contents of logDir/<task>.<stream>.<N>, the
// files Nomad's log rotation writes, concatenated in the numeric order of N.
// Files whose suffix is not a number are ignored.
func ReadRotatedLogs(logDir, taskName, stream string) ([]byte, error) {
	entries, err := os.ReadDir(logDir)
	if err != nil {
		return nil, fmt.Errorf("read log dir: %w", err)
	}
	prefix := taskName + "." + stream + "."
	type rotated struct {
		index int
		name  string
	}
	var files []rotated
	for _, entry := range entries {
		suffix, ok := strings.CutPrefix(entry.Name(), prefix)
		if !ok || entry.IsDir() {
			continue
		}
		index, err := strconv.Atoi(suffix)
		if err != nil || index < 0 {
			continue
		}
		files = append(files, rotated{index, entry.Name()})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].index < files[j].index })

	var out bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(logDir, f.name))
		if err != nil {
			return nil, fmt.Errorf("read log file: %w", err)
		}
		out.Write(data)
	}
	return out.Bytes(), nil
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
func (r *LogReader) Close() { r.close() }
