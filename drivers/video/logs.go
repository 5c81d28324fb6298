package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// logRetryDelay is the pause before following the logs again after the
// stream broke while the container still runs.
const logRetryDelay = time.Second

// errLogCopierStopped ends copying when a test hook stops the copier.
var errLogCopierStopped = errors.New("log copier stopped by hook")

// logHooks are test hooks of the log copier. Nil fields do nothing.
type logHooks struct {
	// beforeSave runs after a write to the log files and before the
	// position is saved. Returning true stops the copier there, as a
	// plugin crash would.
	beforeSave func(taskID string) bool
	// saved runs after each saved position.
	saved func(taskID string)
}

// logCopier copies a container's stdout and stderr into Nomad's rotated log
// files from the plugin process. Nomad runs no log collector for the task,
// because the driver reports DisableLogCollection. After a plugin restart it
// resumes from the saved position, so that each line lands in the files
// exactly once. One goroutine runs the copier, so it needs no lock.
// NOTE: the position is a Docker timestamp, so of two lines stamped with the
// same nanosecond at the resume point, the second is skipped.
type logCopier struct {
	h            *taskHandle
	hooks        logHooks
	positionPath string
	position     logPosition

	// stdout and stderr are nil for a stream whose logs are disabled.
	stdout *streamWriter
	stderr *streamWriter
	// stopped is set when a hook stopped the copier.
	stopped bool
	// saveFailing is set from a failed position save until the next
	// successful one.
	saveFailing bool
	// writeFailing is set from a failed log file write until the next
	// saved position.
	writeFailing bool
	// publish sends a task event, or is nil.
	publish func(message string)
}

// startLogCopier starts copying the task's logs and returns a channel that
// is closed when copying stops. Streams whose path is empty or the null
// device (logs disabled) are not copied.
func (d *Driver) startLogCopier(ctx context.Context, h *taskHandle) <-chan struct{} {
	done := make(chan struct{})
	c, err := d.newLogCopier(h)
	if err != nil {
		h.logger.Error("failed to start copying logs", "error", err)
	}
	if c == nil {
		close(done)
		return done
	}

	go func() {
		defer close(done)
		defer c.close()
		if err := c.run(ctx); err != nil && ctx.Err() == nil {
			h.logger.Error("log copying stopped", "error", err)
		}
	}()
	return done
}

func logEnabled(path string) bool {
	return path != "" && path != os.DevNull
}

// newLogCopier opens the task's log files and sets the start position. It
// returns nil when both streams are disabled. For a container that has no
// saved position yet, the position is the current end of the files and is
// saved before it returns, so that a crash right after StartTask still
// resumes without writing a line twice.
func (d *Driver) newLogCopier(h *taskHandle) (*logCopier, error) {
	outEnabled, errEnabled := logEnabled(h.cfg.StdoutPath), logEnabled(h.cfg.StderrPath)
	if !outEnabled && !errEnabled {
		return nil, nil
	}
	if h.cfg.AllocDir == "" {
		return nil, fmt.Errorf("missing alloc dir in task config: the driver writes logs to <alloc_dir>/alloc/logs")
	}

	c := &logCopier{
		h:            h,
		hooks:        d.logHooks,
		positionPath: filepath.Join(h.cfg.TaskDir(), logPositionFile),
		publish:      func(message string) { d.publishEvent(h.cfg, message) },
	}
	resume, err := c.loadPosition()
	if err != nil {
		h.logger.Warn("failed to read log position, copying from the start", "error", err)
	}
	if !resume {
		c.position = logPosition{ContainerID: h.state.ContainerID}
	}

	plugin, _ := d.state()
	dir := filepath.Join(h.cfg.AllocDir, "alloc", "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log folder: %w", err)
	}
	maxSize := plugin.Logs.maxFileSize
	if outEnabled {
		if c.stdout, err = c.openStream(dir, "stdout", &c.position.Stdout, plugin.Logs.MaxFiles, maxSize, resume); err != nil {
			return nil, err
		}
	}
	if errEnabled {
		if c.stderr, err = c.openStream(dir, "stderr", &c.position.Stderr, plugin.Logs.MaxFiles, maxSize, resume); err != nil {
			c.close()
			return nil, err
		}
	}

	if !resume {
		if err := c.savePosition(); err != nil {
			c.close()
			return nil, fmt.Errorf("save log position: %w", err)
		}
	}
	return c, nil
}

// openStream opens one stream's log files. On resume, the bytes the files
// hold beyond the saved position were written by a copier that stopped
// before it saved, so the writer skips that many bytes of the next lines.
func (c *logCopier) openStream(dir, stream string, pos *streamPosition, maxFiles int, maxSize int64, resume bool) (*streamWriter, error) {
	file, err := openLogFile(dir, c.h.cfg.Name+"."+stream, maxFiles, maxSize, c.h.logger)
	if err != nil {
		return nil, err
	}
	w := &streamWriter{copier: c, out: file, pos: pos}
	if !resume {
		pos.Index, pos.Size = file.index, file.size
		return w, nil
	}

	if w.skip, err = file.bytesAfter(pos.Index, pos.Size); err != nil {
		file.Close()
		return nil, err
	}
	if w.skip > 0 {
		c.h.logger.Info("skipping log bytes written before the last saved position", "stream", stream, "bytes", w.skip)
	}
	return w, nil
}

func (c *logCopier) close() {
	for _, w := range []*streamWriter{c.stdout, c.stderr} {
		if w != nil {
			w.out.Close()
		}
	}
}

func (c *logCopier) run(ctx context.Context) error {
	for {
		err := c.follow(ctx)
		if ctx.Err() != nil || c.stopped {
			return nil
		}
		if err != nil {
			c.reportFollowError(err)
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

// follow copies the log stream from the saved position until it ends.
func (c *logCopier) follow(ctx context.Context) error {
	opts := container.LogsOptions{
		ShowStdout: c.stdout != nil,
		ShowStderr: c.stderr != nil,
		Follow:     true,
		Timestamps: true,
		Since:      c.since(),
	}
	body, err := c.h.docker.ContainerLogs(ctx, c.h.state.ContainerID, opts)
	if err != nil {
		return fmt.Errorf("follow container logs: %w", err)
	}
	defer body.Close()

	_, err = stdcopy.StdCopy(streamOrDiscard(c.stdout), streamOrDiscard(c.stderr), body)
	return err
}

func streamOrDiscard(w *streamWriter) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// nopWriteCloser adds a Close that does nothing to a writer.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// since returns the Docker `since` value, with nanoseconds, of the older
// stream position, or an empty string to read from the start. Lines at or
// before a stream's own position are skipped by its streamWriter.
func (c *logCopier) since() string {
	var oldest time.Time
	for _, w := range []*streamWriter{c.stdout, c.stderr} {
		if w == nil {
			continue
		}
		if w.pos.Since.IsZero() {
			return ""
		}
		if oldest.IsZero() || w.pos.Since.Before(oldest) {
			oldest = w.pos.Since
		}
	}
	if oldest.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d.%09d", oldest.Unix(), oldest.Nanosecond())
}

// commit saves the position after a write, unless a hook stops the copier
// first.
func (c *logCopier) commit() error {
	if c.hooks.beforeSave != nil && c.hooks.beforeSave(c.h.cfg.ID) {
		c.stopped = true
		return errLogCopierStopped
	}
	if err := c.savePosition(); err != nil {
		c.reportSaveError(err)
		return nil
	}
	c.reportSaveRecovered()
	c.writeFailing = false
	if c.hooks.saved != nil {
		c.hooks.saved(c.h.cfg.ID)
	}
	return nil
}

// logWriteError is a failed write to a task log file, such as on a full
// disk, as opposed to a broken Docker log stream.
type logWriteError struct{ err error }

func (e *logWriteError) Error() string { return "write task log file: " + e.err.Error() }
func (e *logWriteError) Unwrap() error { return e.err }

// reportFollowError logs a broken log stream, and publishes a task event for
// the first failed log file write after a successful one.
// NOTE: the copier follows again from the last saved position, so part of a
// line whose write failed may appear twice in the log file.
func (c *logCopier) reportFollowError(err error) {
	var writeErr *logWriteError
	if !errors.As(err, &writeErr) {
		c.h.logger.Warn("log stream broke, following again", "error", err)
		return
	}
	if c.writeFailing {
		return
	}
	c.writeFailing = true
	c.h.logger.Warn("failed to write task log file, retrying", "error", err)
	if c.publish != nil {
		c.publish(fmt.Sprintf("failed to write task logs: %s: free disk space in the alloc dir", describeWriteError(err)))
	}
}

// streamWriter receives one demultiplexed stream. Docker sends each log
// message in one frame, which stdcopy passes in one Write, as
// "<RFC 3339 timestamp> <text>". The text ends in a newline unless Docker
// split a long line or the output ended without one.
type streamWriter struct {
	copier *logCopier
	out    *logFile
	pos    *streamPosition
	// skip is the number of bytes still to drop because they are already
	// in the files.
	skip int64
}

func (w *streamWriter) Write(p []byte) (int, error) {
	n := len(p)
	changed := false
	for len(p) > 0 {
		msg := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			msg = p[:i+1]
		}
		p = p[len(msg):]

		ok, err := w.writeMessage(msg)
		if err != nil {
			return 0, err
		}
		changed = changed || ok
	}
	if changed {
		if err := w.copier.commit(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// writeMessage writes one message's text unless its timestamp is at or
// before the stream position, and reports whether the position moved.
func (w *streamWriter) writeMessage(msg []byte) (bool, error) {
	text := msg
	var at time.Time
	if sep := bytes.IndexByte(msg, ' '); sep > 0 {
		if t, err := time.Parse(time.RFC3339Nano, string(msg[:sep])); err == nil {
			at, text = t, msg[sep+1:]
		}
	}
	if !at.IsZero() && !at.After(w.pos.Since) {
		return false, nil
	}

	if w.skip > 0 {
		n := min(w.skip, int64(len(text)))
		text, w.skip = text[n:], w.skip-n
	}
	if len(text) > 0 {
		if _, err := w.out.Write(text); err != nil {
			return false, &logWriteError{err: err}
		}
	}
	if !at.IsZero() {
		w.pos.Since = at
	}
	w.pos.Index, w.pos.Size = w.out.index, w.out.size
	return true, nil
}
