package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/jobspecs/motion"
	"github.com/ferry-video/ferry/jobspecs/motion/internal/testclip"
)

func freeAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestStreamServesLiveEvents(t *testing.T) {
	clip := testclip.Footage(t)
	url := fmt.Sprintf("rtsp://%s/north-gate", freeAddress(t))
	r := startRun(t, "-ffmpeg", testclip.FFmpeg, "-listen", "127.0.0.1:0",
		"-stream", url, "-stream-listen", "/recordings/north-gate")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go clip.PushUntilDone(ctx, url)

	var events motion.EventsReport
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for getJSON(t, r.baseURL+"/events", &events); len(events.Events) < 2; getJSON(t, r.baseURL+"/events", &events) {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for two events of the live stream, got %d; stderr: %s", len(events.Events), r.stderr.String())
		case <-poll.C:
		}
	}
	if events.Camera != "north-gate" || events.Done {
		t.Errorf("/events = camera %q done %t, want north-gate and not done", events.Camera, events.Done)
	}
	if events.Events[0].File != url {
		t.Errorf("event file = %q, want the stream URL", events.Events[0].File)
	}
	var health motion.HealthReport
	if code := getJSON(t, r.baseURL+"/health", &health); code != 200 {
		t.Errorf("/health code %d while streaming, want 200 (%+v)", code, health)
	}

	r.cancel()
	if code := <-r.code; code != exitOK {
		t.Errorf("exit code after SIGTERM = %d, want %d", code, exitOK)
	}
}

func TestStreamFlagErrors(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no camera folder", []string{"-stream", "rtsp://127.0.0.1:1/x"}, "expected one camera folder argument"},
		{"two camera folders", []string{"-stream", "rtsp://127.0.0.1:1/x", "/recordings/a", "/recordings/b"}, "got 2"},
		{"http stream", []string{"-stream", "http://127.0.0.1:1/x", "/recordings/c"}, "scheme must be rtsp"},
		{"negative retry", []string{"-stream", "rtsp://127.0.0.1:1/x", "-retry-delay", "-1s", "/recordings/c"}, "invalid -retry-delay"},
		{"missing ffmpeg", []string{"-ffmpeg", "/nonexistent/ffmpeg", "-stream", "rtsp://127.0.0.1:1/x", "/recordings/c"}, "run ffmpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, &stdout, &stderr)
			if code != exitFailure {
				t.Errorf("exit code %d, want %d", code, exitFailure)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// waitHealth polls /health until it returns code and status, or fails the
// test when ctx ends.
func waitHealth(ctx context.Context, t *testing.T, r *listeningRun, code int, status string) motion.HealthReport {
	t.Helper()
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		var health motion.HealthReport
		got := getJSON(t, r.baseURL+"/health", &health)
		if got == code && health.Status == status {
			return health
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for /health %d %q, last %d %+v", code, status, got, health)
		case <-poll.C:
		}
	}
}

func TestStreamHealthFollowsFrames(t *testing.T) {
	clip := testclip.Footage(t)
	url := fmt.Sprintf("rtsp://%s/east-gate", freeAddress(t))
	r := startRun(t, "-ffmpeg", testclip.FFmpeg, "-listen", "127.0.0.1:0", "-retry-delay", "0s",
		"-stream", url, "-stream-listen", "/recordings/east-gate")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var health motion.HealthReport
	if code := getJSON(t, r.baseURL+"/health", &health); code != 503 || health.Status != "waiting" {
		t.Fatalf("/health before any stream = %d %+v, want 503 waiting", code, health)
	}
	if !strings.Contains(health.Reason, "no frame received yet") {
		t.Errorf("/health reason before any stream = %q, want it to say no frame arrived", health.Reason)
	}

	pushCtx, stopPush := context.WithCancel(ctx)
	pushed := make(chan struct{})
	go func() { clip.PushUntilDone(pushCtx, url); close(pushed) }()
	waitHealth(ctx, t, r, 200, "processing")

	stopPush()
	<-pushed
	health = waitHealth(ctx, t, r, 503, "interrupted")
	if health.Reason == "" {
		t.Errorf("/health interrupted without a reason")
	}
	r.cancel()
	<-r.code
}
