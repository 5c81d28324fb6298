// Command motion prints the motion events in every recording of a camera
// folder, found with ffmpeg's scene change score. It is the entrypoint of
// the ferry/motion-detect sample image.
//
// Usage:
//
//	motion [-threshold 0.01] [-ffmpeg /usr/bin/ffmpeg] [-listen ADDR] /recordings/<camera>
//	motion [flags] -stream rtsp://HOST:PORT/PATH [-stream-listen] [-retry-delay 2s] /recordings/<camera>
//
// It prints one line per event, "motion file=<name> t=<seconds> score=<score>",
// then "motion_events <N>". Exit codes: 0 success, 1 invalid usage or ffmpeg
// failed to start, 2 a recording is not a readable video, 3 the folder is
// missing, unreadable or contains no recordings.
//
// With -listen it also serves GET /health and GET /events. /health returns
// 200 while processing and after success, and 503 with the reason after a
// failure. /events returns the camera, the events so far and whether
// processing is done. The program then keeps serving after processing
// until SIGTERM or SIGINT, so it can run as a Nomad service, and exits with
// the processing result.
//
// With -stream it analyses the camera's live RTSP stream in place of its
// recordings, and the folder only names the camera. It pulls the stream
// from the camera, or with -stream-listen waits for a camera or encoder to
// push it to that address. It prints each event as it is found,
// reads the stream again -retry-delay after it ends, and runs until SIGTERM
// or SIGINT. /health returns 503 while the stream is not being read.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/ferry-video/ferry/jobspecs/motion"
)

const (
	exitOK           = 0
	exitFailure      = 1
	exitNotVideo     = 2
	exitNoRecordings = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWithHooks(ctx, args, stdout, stderr, hooks{listen: net.Listen, processed: func() {}})
}

// hooks are the points where tests observe a run.
type hooks struct {
	// listen opens the listener of the HTTP endpoint.
	listen func(network, address string) (net.Listener, error)
	// processed is called once every recording is processed, before the
	// HTTP endpoint waits for the signal to stop.
	processed func()
}

func runWithHooks(ctx context.Context, args []string, stdout, stderr io.Writer, hooks hooks) int {
	flags := flag.NewFlagSet("motion", flag.ContinueOnError)
	flags.SetOutput(stderr)
	threshold := flags.Float64("threshold", motion.DefaultThreshold,
		"minimum scene change score, from 0 to 1, for a frame to count as motion")
	ffmpeg := flags.String("ffmpeg", "/usr/bin/ffmpeg", "path of the ffmpeg binary")
	listenAddr := flags.String("listen", "",
		"address, host:port, of the HTTP endpoint serving /health and /events; empty turns it off")
	stream := addStreamFlags(flags)
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: motion [flags] CAMERA_FOLDER")
		fmt.Fprintln(stderr, "       motion [flags] -stream URL CAMERA_FOLDER")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return exitFailure
	}
	if stream.url != "" {
		detector := motion.Detector{FFmpeg: *ffmpeg, Threshold: *threshold}
		return runStream(ctx, flags, stream, detector, *listenAddr, stdout, stderr, hooks)
	}
	if flags.NArg() != 1 {
		fmt.Fprintf(stderr, "motion: expected one camera folder argument, got %d\n", flags.NArg())
		flags.Usage()
		return exitFailure
	}
	if *threshold < 0 || *threshold > 1 {
		fmt.Fprintf(stderr, "motion: invalid -threshold %g: must be between 0 and 1\n", *threshold)
		return exitFailure
	}
	folder := flags.Arg(0)
	status := motion.NewStatus(filepath.Base(filepath.Clean(folder)))

	var server *statusServer
	if *listenAddr != "" {
		listener, err := hooks.listen("tcp", *listenAddr)
		if err != nil {
			fmt.Fprintf(stderr, "motion: invalid -listen %q: %v\n", *listenAddr, err)
			return exitFailure
		}
		server = startStatusServer(listener, status.Handler(), stderr)
	}

	code := process(ctx, motion.Detector{FFmpeg: *ffmpeg, Threshold: *threshold}, folder, status, stdout, stderr)
	status.Finish()
	hooks.processed()
	if server != nil {
		server.serveUntil(ctx)
	}
	return code
}

// process detects the events of every recording in folder and returns the
// exit code.
func process(ctx context.Context, detector motion.Detector, folder string, status *motion.Status, stdout, stderr io.Writer) int {
	names, err := motion.ListRecordings(folder)
	if err != nil {
		reason := fmt.Sprintf("%v: check that the camera's recordings are mounted at %s", err, folder)
		fmt.Fprintf(stderr, "motion: %s\n", reason)
		status.Fail(reason)
		return exitNoRecordings
	}
	return detectAll(ctx, detector, folder, names, status, stdout, stderr)
}

// detectAll prints the events of every recording and the total. A recording
// that is not a video is reported and skipped, so the events of the others
// still print, and the exit code is then exitNotVideo.
func detectAll(ctx context.Context, detector motion.Detector, folder string, names []string, status *motion.Status, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	code := exitOK
	total := 0
	for _, name := range names {
		events, err := detector.Detect(ctx, folder, name)
		if errors.Is(err, motion.ErrNotVideo) {
			fmt.Fprintf(stderr, "motion: %v\n", err)
			status.Fail(err.Error())
			code = exitNotVideo
			continue
		}
		if err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "motion: %v\n", err)
			status.Fail(err.Error())
			return exitFailure
		}
		status.Add(events)
		for _, event := range events {
			fmt.Fprintln(out, event)
		}
		total += len(events)
		out.Flush()
	}
	fmt.Fprintf(out, "motion_events %d\n", total)
	return code
}
