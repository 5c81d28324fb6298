// Package testclip provides real video for tests of the motion sample: the
// vtest.avi street footage when it is present beside the repository, and
// otherwise a clip that ffmpeg generates with two hard cuts.
package testclip

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FFmpeg is the ffmpeg binary the tests run, as installed by Debian's ffmpeg
// package.
const FFmpeg = "/usr/bin/ffmpeg"

// Clip is a recording for a test, with the range of motion events it gives at
// the default threshold.
type Clip struct {
	// Path is the recording's absolute path.
	Path string
	// MinEvents and MaxEvents bound the motion events at threshold 0.01.
	MinEvents, MaxEvents int
}

// Footage returns vtest.avi (OpenCV's sample street footage, 768x576, 10 fps,
// 80 s) from shared/data beside the repository root when it exists, and
// otherwise generates a 6 s clip of three test patterns in the test's
// temporary folder.
func Footage(t *testing.T) Clip {
	t.Helper()
	root := repositoryRoot(t)
	footage := filepath.Join(root, "..", "shared", "data", "vtest.avi")
	if _, err := os.Stat(footage); err == nil {
		return Clip{Path: footage, MinEvents: 5, MaxEvents: 60}
	}
	return Clip{Path: generateCuts(t), MinEvents: 2, MaxEvents: 4}
}

// Link places a symbolic link to the clip named name in dir.
func (c Clip) Link(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Symlink(c.Path, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func repositoryRoot(t *testing.T) string {
	t.Helper()
	output, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(output))
	if gomod == "" || gomod == os.DevNull {
		t.Fatal("go env GOMOD: not inside the ferry module")
	}
	return filepath.Dir(gomod)
}

// generateCuts writes testsrc, then smptebars, then mandelbrot, 2 s each at
// 10 fps, so the clip has hard cuts at 2 s and 4 s.
func generateCuts(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cuts.avi")
	cmd := exec.Command(FFmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2",
		"-f", "lavfi", "-i", "smptebars=size=320x240:rate=10:duration=2",
		"-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=10",
		"-filter_complex", "[2]trim=duration=2[m];[0][1][m]concat=n=3:v=1:a=0",
		"-c:v", "mpeg4", "-q:v", "5", path)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate test clip: %v: %s", err, output)
	}
	return path
}

// PushArgs returns the ffmpeg arguments that send the clip, looped, in real
// time to an RTSP server that waits for a push at url. The clip is encoded
// as MPEG-4 video, because RTP carries neither vtest.avi's MS-MPEG4 v3 nor
// raw video.
func (c Clip) PushArgs(url string) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-re", "-stream_loop", "-1", "-i", c.Path,
		"-an", "-c:v", "mpeg4", "-q:v", "5",
		"-f", "rtsp", "-rtsp_transport", "tcp", url,
	}
}

// PushUntilDone sends the clip to url until ctx is done. It starts ffmpeg
// again whenever it exits, because the receiver may not listen yet or may
// restart.
func (c Clip) PushUntilDone(ctx context.Context, url string) {
	retry := time.NewTicker(200 * time.Millisecond)
	defer retry.Stop()
	for ctx.Err() == nil {
		_ = exec.CommandContext(ctx, FFmpeg, c.PushArgs(url)...).Run()
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
}
