package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/jobspecs/motion/internal/testclip"
)

var eventLine = regexp.MustCompile(`^motion file=\S+ t=\d+\.\d{2} score=\d\.\d{3}$`)

func TestRunRealFootage(t *testing.T) {
	clip := testclip.Footage(t)
	dir := t.TempDir()
	clip.Link(t, dir, "b.avi")
	clip.Link(t, dir, "a.avi")

	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-ffmpeg", testclip.FFmpeg, dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d, want %d; stderr: %s", code, exitOK, stderr.String())
	}

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	events := lines[:len(lines)-1]
	if len(events) < 2*clip.MinEvents || len(events) > 2*clip.MaxEvents {
		t.Errorf("got %d event lines for two copies, want %d to %d", len(events), 2*clip.MinEvents, 2*clip.MaxEvents)
	}
	for _, line := range events {
		if !eventLine.MatchString(line) {
			t.Errorf("event line %q does not match %s", line, eventLine)
		}
	}
	if !strings.HasPrefix(events[0], "motion file=a.avi ") {
		t.Errorf("first event %q is not from a.avi, the first recording by name", events[0])
	}
	if !strings.HasPrefix(events[len(events)-1], "motion file=b.avi ") {
		t.Errorf("last event %q is not from b.avi", events[len(events)-1])
	}
	wantTotal := fmt.Sprintf("motion_events %d", len(events))
	if lines[len(lines)-1] != wantTotal {
		t.Errorf("last line %q, want %q", lines[len(lines)-1], wantTotal)
	}
}

func TestRunExitCodes(t *testing.T) {
	clip := testclip.Footage(t)
	mixed := t.TempDir()
	clip.Link(t, mixed, "a.avi")
	writeNotes(t, mixed)
	onlyNotes := t.TempDir()
	writeNotes(t, onlyNotes)
	empty := t.TempDir()

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"not a video", []string{onlyNotes}, exitNotVideo, `recording "notes.txt": not a readable video`, "motion_events 0\n"},
		{"video and not a video", []string{mixed}, exitNotVideo, `recording "notes.txt"`, "motion file=a.avi t="},
		{"empty folder", []string{empty}, exitNoRecordings, "no recordings", ""},
		{"missing folder", []string{filepath.Join(empty, "absent")}, exitNoRecordings, "no such file or directory", ""},
		{"no folder argument", nil, exitFailure, "expected one camera folder argument, got 0", ""},
		{"threshold out of range", []string{"-threshold", "2", empty}, exitFailure, "invalid -threshold 2", ""},
		{"missing ffmpeg", []string{"-ffmpeg", filepath.Join(empty, "ffmpeg"), onlyNotes}, exitFailure, "run ffmpeg", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-ffmpeg", testclip.FFmpeg}, tt.args...)
			code := run(context.Background(), args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
		})
	}
}

func writeNotes(t *testing.T, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a video\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
