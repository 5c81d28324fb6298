package motion

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultThreshold is the scene change score above which a frame counts as
// motion. On OpenCV's vtest.avi (a fixed street camera, 768x576, 10 fps,
// 80 s, pedestrians walking) it yields 39 events with Debian 12's ffmpeg
// 5.1. There, 0.02 yields 3 events and 0.005 yields 337.
const DefaultThreshold = 0.01

// ErrNotVideo reports a recording that ffmpeg could not decode as video.
var ErrNotVideo = errors.New("not a readable video")

// Detector runs ffmpeg's scene change filter over recordings.
type Detector struct {
	// FFmpeg is the path of the ffmpeg binary.
	FFmpeg string
	// Threshold is the minimum scene change score, from 0 to 1, for a
	// frame to count as motion.
	Threshold float64
}

// Args returns the ffmpeg arguments that decode path and print the scene
// score of every frame above the threshold to stdout.
func (d Detector) Args(path string) []string {
	threshold := strconv.FormatFloat(d.Threshold, 'f', -1, 64)
	filter := "select='gt(scene," + threshold + ")',metadata=print:file=-"
	return []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-i", path,
		"-map", "0:v:0",
		"-vf", filter,
		"-f", "null", "-",
	}
}

// Detect runs ffmpeg on the recording at root/name and returns its motion
// events with File set to name. It returns an error wrapping ErrNotVideo
// when ffmpeg fails on the file, and a plain error when ffmpeg cannot start.
func (d Detector) Detect(ctx context.Context, root, name string) ([]Event, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.FFmpeg, d.Args(filepath.Join(root, name))...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("recording %q: %w", name, ctxErr)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return nil, fmt.Errorf("recording %q: %w: ffmpeg exited with status %d: %s",
			name, ErrNotVideo, exitErr.ExitCode(), lastLine(stderr.String()))
	}
	if err != nil {
		return nil, fmt.Errorf("run ffmpeg %q on recording %q: %w", d.FFmpeg, name, err)
	}

	events, err := ParseSceneMetadata(&stdout)
	if err != nil {
		return nil, fmt.Errorf("recording %q: parse ffmpeg output: %w", name, err)
	}
	for i := range events {
		events[i].File = name
	}
	return events, nil
}

// lastLine returns the last non-empty line of ffmpeg's error output, which
// names the cause ("Invalid data found when processing input").
func lastLine(output string) string {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return "no error output"
	}
	return last
}
