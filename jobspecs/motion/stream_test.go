package motion

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/jobspecs/motion/internal/testclip"
)

// freeRTSPURL returns an RTSP URL on a loopback port that nothing listens on.
func freeRTSPURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("rtsp://%s/north-gate", l.Addr())
}

func TestWatchLiveStream(t *testing.T) {
	clip := testclip.Footage(t)
	stream := Stream{URL: freeRTSPURL(t), Listen: true}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go clip.PushUntilDone(ctx, stream.URL)

	events := make(chan Event, 100)
	watched := make(chan error, 1)
	detector := Detector{FFmpeg: testclip.FFmpeg, Threshold: DefaultThreshold}
	go func() { watched <- detector.Watch(ctx, stream, func(e Event) { events <- e }, nil) }()

	for i := 0; i < 2; i++ {
		select {
		case e := <-events:
			if e.File != stream.URL {
				t.Errorf("event file = %q, want the stream URL %q", e.File, stream.URL)
			}
			if e.Score <= DefaultThreshold || e.Score > 1 {
				t.Errorf("event score %g is outside (%g, 1]", e.Score, DefaultThreshold)
			}
		case err := <-watched:
			t.Fatalf("Watch returned before 2 events: %v", err)
		case <-ctx.Done():
			t.Fatalf("timed out waiting for event %d of the live stream", i+1)
		}
	}
	cancel()
	if err := <-watched; !errors.Is(err, context.Canceled) {
		t.Errorf("Watch after cancel = %v, want context.Canceled", err)
	}
}

func TestWatchErrors(t *testing.T) {
	tests := []struct {
		name   string
		stream Stream
		ffmpeg string
		want   error
		text   string
	}{
		{"http scheme", Stream{URL: "http://127.0.0.1:1/x"}, testclip.FFmpeg, nil, "scheme must be rtsp"},
		{"rtsps listen", Stream{URL: "rtsps://127.0.0.1:1/x", Listen: true}, testclip.FFmpeg, nil, "scheme must be rtsp"},
		{"no host", Stream{URL: "rtsp:///x"}, testclip.FFmpeg, nil, "missing host:port"},
		{"nobody sends", Stream{URL: "rtsp://127.0.0.1:1/x"}, testclip.FFmpeg, ErrStreamEnded, "ffmpeg exited"},
		{"no ffmpeg", Stream{URL: "rtsp://127.0.0.1:1/x"}, "/nonexistent/ffmpeg", nil, "run ffmpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detector := Detector{FFmpeg: tt.ffmpeg, Threshold: DefaultThreshold}
			err := detector.Watch(context.Background(), tt.stream, func(Event) {}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Watch error = %v, want it to contain %q", err, tt.text)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Watch error = %v, want it to wrap %v", err, tt.want)
			}
		})
	}
}

func TestStreamNameRedactsPassword(t *testing.T) {
	got := Stream{URL: "rtsp://viewer:secret@10.0.0.5:554/live"}.Name()
	if strings.Contains(got, "secret") {
		t.Errorf("Name() = %q, want the password redacted", got)
	}
}
