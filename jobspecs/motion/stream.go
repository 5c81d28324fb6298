package motion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
)

// ErrStreamEnded reports that ffmpeg stopped reading a live stream, because
// the sender disconnected or the stream could not be read.
var ErrStreamEnded = errors.New("live stream ended")

// pullTimeout is ffmpeg's socket I/O timeout, in microseconds, for a
// stream it pulls, so that a camera that stops sending ends the read.
const pullTimeout = 10_000_000

// Stream is a live RTSP stream that a Detector watches.
type Stream struct {
	// URL is the rtsp:// or rtsps:// address of the stream.
	URL string
	// Listen makes ffmpeg an RTSP server at URL that waits for a camera or
	// encoder to push the stream (RTSP ANNOUNCE and RECORD). Without it,
	// ffmpeg pulls the stream from the camera at URL over TCP.
	Listen bool
}

// Name returns the stream's URL with any password replaced by "xxxxx", as
// it appears in events and messages.
func (s Stream) Name() string {
	u, err := url.Parse(s.URL)
	if err != nil {
		return "invalid URL"
	}
	return u.Redacted()
}

// Validate checks that the URL is an RTSP address with a host.
func (s Stream) Validate() error {
	u, err := url.Parse(s.URL)
	if err != nil {
		return fmt.Errorf("invalid stream URL: %w", err)
	}
	if u.Scheme != "rtsp" && (u.Scheme != "rtsps" || s.Listen) {
		return fmt.Errorf("invalid stream URL %q: the scheme must be rtsp (or rtsps when pulling)", s.Name())
	}
	if u.Host == "" {
		return fmt.Errorf("invalid stream URL %q: missing host:port", s.Name())
	}
	return nil
}

// StreamArgs returns the ffmpeg arguments that read the live stream and
// print the scene score of every frame above the threshold to stdout.
func (d Detector) StreamArgs(s Stream) []string {
	// -progress pipe:2 writes key=value blocks, "frame=N" among them, to
	// stderr about twice a second, which shows when frames arrive.
	args := []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-progress", "pipe:2"}
	if s.Listen {
		args = append(args, "-rtsp_flags", "listen")
	} else {
		args = append(args, "-rtsp_transport", "tcp", "-timeout", strconv.Itoa(pullTimeout))
	}
	threshold := strconv.FormatFloat(d.Threshold, 'f', -1, 64)
	return append(args,
		"-i", s.URL,
		"-map", "0:v:0",
		// direct=1 writes each frame's metadata at once, not when a 32 KiB
		// buffer fills, so events are seen as the stream plays.
		"-vf", "select='gt(scene,"+threshold+")',metadata=print:file=-:direct=1",
		"-f", "null", "-",
	)
}

// Watch runs ffmpeg on the live stream and calls emit with each event, with
// File set to the stream's name, while ffmpeg runs. It calls receiving, when
// not nil, once ffmpeg reports its first decoded frame. It returns when ffmpeg
// exits, with an error that wraps ErrStreamEnded, or with ctx's error once
// ctx is done.
func (d Detector) Watch(ctx context.Context, s Stream, emit func(Event), receiving func()) error {
	if err := s.Validate(); err != nil {
		return err
	}
	stderr := &progressWriter{onFrame: receiving}
	cmd := exec.CommandContext(ctx, d.FFmpeg, d.StreamArgs(s)...)
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("stream %q: %w", s.Name(), err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run ffmpeg %q on stream %q: %w", d.FFmpeg, s.Name(), err)
	}

	name := s.Name()
	scanErr := ScanSceneMetadata(stdout, func(e Event) {
		e.File = name
		emit(e)
	})
	// After a parse error ffmpeg still writes, so the rest is discarded to
	// let it run to its end rather than block on a full pipe.
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if scanErr != nil {
		return fmt.Errorf("stream %q: parse ffmpeg output: %w", name, scanErr)
	}
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		return fmt.Errorf("stream %q: %w: ffmpeg exited with status %d: %s", name, ErrStreamEnded, exitErr.ExitCode(), lastLine(stderr.String()))
	}
	if waitErr != nil {
		return fmt.Errorf("stream %q: %w", name, waitErr)
	}
	return fmt.Errorf("stream %q: %w: the sender closed it", name, ErrStreamEnded)
}
