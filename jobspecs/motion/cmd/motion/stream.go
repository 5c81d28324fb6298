package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ferry-video/ferry/jobspecs/motion"
)

// streamFlags are the flags of live stream mode.
type streamFlags struct {
	url        string
	listen     bool
	retryDelay time.Duration
}

func addStreamFlags(flags *flag.FlagSet) *streamFlags {
	s := &streamFlags{}
	flags.StringVar(&s.url, "stream", "",
		"rtsp:// URL of a live stream to analyse in place of a camera folder")
	flags.BoolVar(&s.listen, "stream-listen", false,
		"wait for the stream to be pushed to the -stream address (RTSP RECORD) rather than pull it from there")
	flags.DurationVar(&s.retryDelay, "retry-delay", 2*time.Second,
		"wait before reading the stream again after it ended")
	return s
}

// runStream analyses the live stream of the camera that the folder
// argument names, until ctx ends, and returns the exit code: 0 after SIGTERM or SIGINT, 1 for invalid flags or when ffmpeg
// cannot run.
func runStream(ctx context.Context, flags *flag.FlagSet, s *streamFlags, detector motion.Detector, listenAddr string, stdout, stderr io.Writer, hooks hooks) int {
	stream := motion.Stream{URL: s.url, Listen: s.listen}
	if err := checkStreamFlags(flags, s, stream, detector); err != nil {
		fmt.Fprintf(stderr, "motion: %v\n", err)
		return exitFailure
	}
	status := motion.NewStatus(filepath.Base(filepath.Clean(flags.Arg(0))))

	var server *statusServer
	if listenAddr != "" {
		listener, err := hooks.listen("tcp", listenAddr)
		if err != nil {
			fmt.Fprintf(stderr, "motion: invalid -listen %q: %v\n", listenAddr, err)
			return exitFailure
		}
		server = startStatusServer(listener, status.Handler(), stderr)
	}

	code := watchStream(ctx, detector, stream, s.retryDelay, status, stdout, stderr)
	status.Finish()
	hooks.processed()
	if server != nil {
		server.serveUntil(ctx)
	}
	return code
}

func checkStreamFlags(flags *flag.FlagSet, s *streamFlags, stream motion.Stream, detector motion.Detector) error {
	if flags.NArg() != 1 {
		return fmt.Errorf("expected one camera folder argument, which names the camera of the stream, got %d", flags.NArg())
	}
	if s.retryDelay < 0 {
		return fmt.Errorf("invalid -retry-delay %s: must not be negative", s.retryDelay)
	}
	if detector.Threshold < 0 || detector.Threshold > 1 {
		return fmt.Errorf("invalid -threshold %g: must be between 0 and 1", detector.Threshold)
	}
	return stream.Validate()
}

// watchStream reads the stream again each time it ends, until ctx ends.
// Health is 503 until frames arrive, and again from each end of the stream
// until frames arrive again.
// It returns exitFailure without retrying when ffmpeg cannot run at all.
func watchStream(ctx context.Context, detector motion.Detector, stream motion.Stream, retryDelay time.Duration, status *motion.Status, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "motion: reading live stream %s\n", stream.Name())
	emit := func(e motion.Event) {
		status.Add([]motion.Event{e})
		fmt.Fprintln(stdout, e)
	}
	status.Wait("waiting for stream " + stream.Name() + ": no frame received yet")
	for {
		err := detector.Watch(ctx, stream, emit, status.Resume)
		if ctx.Err() != nil {
			return exitOK
		}
		if !errors.Is(err, motion.ErrStreamEnded) {
			fmt.Fprintf(stderr, "motion: %v\n", err)
			status.Fail(err.Error())
			return exitFailure
		}
		fmt.Fprintf(stderr, "motion: %v; reading it again in %s\n", err, retryDelay)
		status.Interrupt(err.Error())

		timer := time.NewTimer(retryDelay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return exitOK
		case <-timer.C:
		}
	}
}
