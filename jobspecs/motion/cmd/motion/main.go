// Command motion prints the motion events in every recording of a camera
// folder, found with ffmpeg's scene change score. It is the entrypoint of
// the ferry/motion-detect sample image.
//
// Usage:
//
//	motion [-threshold 0.01] [-ffmpeg /usr/bin/ffmpeg] /recordings/<camera>
//
// It prints one line per event, "motion file=<name> t=<seconds> score=<score>",
// then "motion_events <N>". Exit codes: 0 success, 1 invalid usage or ffmpeg
// failed to start, 2 a recording is not a readable video, 3 the folder is
// missing, unreadable or contains no recordings.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
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
	flags := flag.NewFlagSet("motion", flag.ContinueOnError)
	flags.SetOutput(stderr)
	threshold := flags.Float64("threshold", motion.DefaultThreshold,
		"minimum scene change score, from 0 to 1, for a frame to count as motion")
	ffmpeg := flags.String("ffmpeg", "/usr/bin/ffmpeg", "path of the ffmpeg binary")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: motion [flags] CAMERA_FOLDER")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return exitFailure
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

	names, err := motion.ListRecordings(folder)
	if err != nil {
		fmt.Fprintf(stderr, "motion: %v: check that the camera's recordings are mounted at %s\n", err, folder)
		return exitNoRecordings
	}

	return detectAll(ctx, motion.Detector{FFmpeg: *ffmpeg, Threshold: *threshold}, folder, names, stdout, stderr)
}

// detectAll prints the events of every recording and the total. A recording
// that is not a video is reported and skipped, so the events of the others
// still print, and the exit code is then exitNotVideo.
func detectAll(ctx context.Context, detector motion.Detector, folder string, names []string, stdout, stderr io.Writer) int {
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	code := exitOK
	total := 0
	for _, name := range names {
		events, err := detector.Detect(ctx, folder, name)
		if errors.Is(err, motion.ErrNotVideo) {
			fmt.Fprintf(stderr, "motion: %v\n", err)
			code = exitNotVideo
			continue
		}
		if err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "motion: %v\n", err)
			return exitFailure
		}
		for _, event := range events {
			fmt.Fprintln(out, event)
		}
		total += len(events)
		out.Flush()
	}
	fmt.Fprintf(out, "motion_events %d\n", total)
	return code
}
