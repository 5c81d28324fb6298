package motion

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-video/ferry/jobspecs/motion/internal/testclip"
)

func TestDetectRealFootage(t *testing.T) {
	clip := testclip.Footage(t)
	dir := t.TempDir()
	clip.Link(t, dir, "clip.avi")

	detector := Detector{FFmpeg: testclip.FFmpeg, Threshold: DefaultThreshold}
	events, err := detector.Detect(context.Background(), dir, "clip.avi")
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if len(events) < clip.MinEvents || len(events) > clip.MaxEvents {
		t.Errorf("got %d events, want %d to %d", len(events), clip.MinEvents, clip.MaxEvents)
	}
	for i, event := range events {
		if event.File != "clip.avi" {
			t.Errorf("event %d file = %q, want clip.avi", i, event.File)
		}
		if event.Score <= DefaultThreshold || event.Score > 1 {
			t.Errorf("event %d score %g is outside (%g, 1]", i, event.Score, DefaultThreshold)
		}
	}
}

func TestDetectThresholdOrdersCounts(t *testing.T) {
	clip := testclip.Footage(t)
	dir := t.TempDir()
	clip.Link(t, dir, "clip.avi")

	low := Detector{FFmpeg: testclip.FFmpeg, Threshold: 0.005}
	high := Detector{FFmpeg: testclip.FFmpeg, Threshold: 0.5}
	lowEvents, err := low.Detect(context.Background(), dir, "clip.avi")
	if err != nil {
		t.Fatalf("Detect at 0.005: %v", err)
	}
	highEvents, err := high.Detect(context.Background(), dir, "clip.avi")
	if err != nil {
		t.Fatalf("Detect at 0.5: %v", err)
	}
	if len(lowEvents) <= len(highEvents) {
		t.Errorf("threshold 0.005 gave %d events, not more than the %d at 0.5", len(lowEvents), len(highEvents))
	}
}

func TestDetectErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		ffmpeg     string
		recording  string
		isNotVideo bool
	}{
		{"text file", testclip.FFmpeg, "notes.txt", true},
		{"missing file", testclip.FFmpeg, "absent.avi", true},
		{"missing ffmpeg", filepath.Join(dir, "no-ffmpeg"), "notes.txt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detector := Detector{FFmpeg: tt.ffmpeg, Threshold: DefaultThreshold}
			_, err := detector.Detect(context.Background(), dir, tt.recording)
			if err == nil {
				t.Fatal("Detect returned no error")
			}
			if got := errors.Is(err, ErrNotVideo); got != tt.isNotVideo {
				t.Errorf("errors.Is(%q, ErrNotVideo) = %v, want %v", err, got, tt.isNotVideo)
			}
		})
	}
}

func TestDetectCanceled(t *testing.T) {
	clip := testclip.Footage(t)
	dir := t.TempDir()
	clip.Link(t, dir, "clip.avi")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	detector := Detector{FFmpeg: testclip.FFmpeg, Threshold: DefaultThreshold}
	_, err := detector.Detect(ctx, dir, "clip.avi")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Detect error = %v, want context.Canceled", err)
	}
}
