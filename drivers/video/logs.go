package video

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// logPositionFile is the file in the task dir that stores, per stream, the
// Docker timestamp of the last log line copied into Nomad's FIFO.
const logPositionFile = ".video-log-position.json"

// logRetryDelay is the pause before following the logs again after the
// stream broke while the container still runs.
const logRetryDelay = time.Second

// logPosition is the timestamp of the last copied line of each stream.
type logPosition struct {
	Stdout time.Time `json:"stdout"`
	Stderr time.Time `json:"stderr"`
}

// logCopier copies a container's stdout and stderr into Nomad's FIFOs from
// the plugin process, resuming after a plugin restart from the stored
// position.
type logCopier struct {
	h            *taskHandle
	positionPath string

	// mu guards position, which both stream writers update.
	mu       sync.Mutex
	position logPosition
}

// startLogCopier starts copying the task's logs and returns a channel that
// is closed when copying stops. Streams whose path is empty or the null
// device (logs disabled) are not copied.
func (d *Driver) startLogCopier(ctx context.Context, h *taskHandle) <-chan struct{} {
	done := make(chan struct{})
	if !logEnabled(h.cfg.StdoutPath) && !logEnabled(h.cfg.StderrPath) {
		close(done)
		return done
	}

	c := &logCopier{h: h}
	if h.cfg.AllocDir != "" {
		c.positionPath = filepath.Join(h.cfg.TaskDir(), logPositionFile)
	}
	go func() {
		defer close(done)
		if err := c.run(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("log copying stopped", "error", err)
		}
	}()
	return done
}

func logEnabled(path string) bool {
	return path != "" && path != os.DevNull
}

func (c *logCopier) run(ctx context.Context) error {
	if err := c.loadPosition(); err != nil {
		c.h.logger.Warn("failed to read log position, copying from the start", "error", err)
	}

	// NOTE: opening a FIFO for writing blocks until Nomad's log collector
	// opens it for reading, and it is not interrupted by ctx.
	stdout, err := openLogFIFO(c.h.cfg.StdoutPath)
	if err != nil {
		return err
	}
	defer stdout.Close()
	stderr, err := openLogFIFO(c.h.cfg.StderrPath)
	if err != nil {
		return err
	}
	defer stderr.Close()

	outWriter := &lineWriter{copier: c, out: stdout, last: &c.position.Stdout}
	errWriter := &lineWriter{copier: c, out: stderr, last: &c.position.Stderr}
	for {
		err := c.follow(ctx, outWriter, errWriter)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			c.h.logger.Warn("log stream broke, following again", "error", err)
		} else if c.h.exitResult() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.h.done:
		case <-c.h.clock.After(logRetryDelay):
		}
	}
}

// openLogFIFO opens Nomad's FIFO for writing without creating it. A disabled
// stream gets a writer that discards.
func openLogFIFO(path string) (io.WriteCloser, error) {
	if !logEnabled(path) {
		return nopWriteCloser{io.Discard}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("open log FIFO %q: %w", path, err)
	}
	return f, nil
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// follow copies the log stream from the stored position until it ends.
func (c *logCopier) follow(ctx context.Context, stdout, stderr *lineWriter) error {
	opts := container.LogsOptions{
		ShowStdout: logEnabled(c.h.cfg.StdoutPath),
		ShowStderr: logEnabled(c.h.cfg.StderrPath),
		Follow:     true,
		Timestamps: true,
		Since:      c.since(),
	}
	body, err := c.h.docker.ContainerLogs(ctx, c.h.state.ContainerID, opts)
	if err != nil {
		return fmt.Errorf("follow container logs: %w", err)
	}
	defer body.Close()

	_, err = stdcopy.StdCopy(stdout, stderr, body)
	return err
}

// since returns the Docker `since` value of the older stream position, or
// an empty string to read from the start. Lines at or before a stream's
// own position are skipped by its lineWriter.
func (c *logCopier) since() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var oldest time.Time
	for _, pair := range []struct {
		path string
		at   time.Time
	}{{c.h.cfg.StdoutPath, c.position.Stdout}, {c.h.cfg.StderrPath, c.position.Stderr}} {
		if !logEnabled(pair.path) {
			continue
		}
		if pair.at.IsZero() {
			return ""
		}
		if oldest.IsZero() || pair.at.Before(oldest) {
			oldest = pair.at
		}
	}
	if oldest.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%09d", oldest.Unix(), oldest.Nanosecond())
}

func (c *logCopier) loadPosition() error {
	if c.positionPath == "" {
		return nil
	}
	data, err := os.ReadFile(c.positionPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return json.Unmarshal(data, &c.position)
}

// savePosition writes the position to a temporary file, syncs it and renames
// it over the old one, so that a crash leaves either the old or the new
// position.
func (c *logCopier) savePosition() error {
	if c.positionPath == "" {
		return nil
	}
	c.mu.Lock()
	data, err := json.Marshal(c.position)
	c.mu.Unlock()
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(c.positionPath), logPositionFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.positionPath)
}

// lineWriter receives one demultiplexed stream of timestamped lines, drops
// lines at or before its stored position and writes the rest, without the
// timestamp, to out.
type lineWriter struct {
	copier  *logCopier
	out     io.Writer
	last    *time.Time // guarded by copier.mu
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	copied := false
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i+1]
		wrote, err := w.writeLine(line)
		if err != nil {
			return 0, err
		}
		copied = copied || wrote
		w.partial = w.partial[i+1:]
	}

	// NOTE: the position is saved after the FIFO write, so a crash between
	// the two repeats the lines of this chunk once.
	if copied {
		if err := w.copier.savePosition(); err != nil {
			w.copier.h.logger.Warn("failed to save log position", "error", err)
		}
	}
	return len(p), nil
}

// writeLine writes one "<RFC 3339 timestamp> <text>\n" line unless it is at
// or before the stored position, and reports whether it wrote it.
func (w *lineWriter) writeLine(line []byte) (bool, error) {
	sep := bytes.IndexByte(line, ' ')
	if sep < 0 {
		_, err := w.out.Write(line)
		return err == nil, err
	}
	at, err := time.Parse(time.RFC3339Nano, string(line[:sep]))
	if err != nil {
		_, err := w.out.Write(line)
		return err == nil, err
	}

	w.copier.mu.Lock()
	skip := !at.After(*w.last)
	w.copier.mu.Unlock()
	if skip {
		return false, nil
	}
	if _, err := w.out.Write(line[sep+1:]); err != nil {
		return false, fmt.Errorf("write log line: %w", err)
	}

	w.copier.mu.Lock()
	*w.last = at
	w.copier.mu.Unlock()
	return true, nil
}
