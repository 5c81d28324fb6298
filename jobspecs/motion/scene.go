// Package motion detects motion in camera recordings with ffmpeg's scene
// change score and formats the events for the motion-detect sample job.
package motion

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Event is one frame whose scene change score passed the threshold.
type Event struct {
	// File is the recording's path relative to the camera folder.
	File string
	// Time is the frame's presentation time in seconds from the start of
	// the recording.
	Time float64
	// Score is ffmpeg's scene change score, from 0 (identical to the
	// previous frame) to 1 (a different picture).
	Score float64
}

// String formats the event as the line the motion command prints.
func (e Event) String() string {
	return fmt.Sprintf("motion file=%s t=%.2f score=%.3f", e.File, e.Time, e.Score)
}

// ParseSceneMetadata parses the output of ffmpeg's metadata=print filter
// placed after a scene select filter. Each selected frame is a header line
// ("frame:12 pts:12 pts_time:1.2") followed by key=value lines. A frame
// becomes an event once its lavfi.scene_score line is read. The returned
// events have no File set.
func ParseSceneMetadata(r io.Reader) ([]Event, error) {
	var events []Event
	err := ScanSceneMetadata(r, func(e Event) { events = append(events, e) })
	if err != nil {
		return nil, err
	}
	return events, nil
}

// ScanSceneMetadata parses the same output as ParseSceneMetadata but calls
// emit with each event as soon as its score line is read, so that a live
// stream's events are seen while ffmpeg runs. It returns at the end of r.
func ScanSceneMetadata(r io.Reader, emit func(Event)) error {
	frameTime := 0.0
	inFrame := false
	scanner := bufio.NewScanner(r)
	lineNumber := 0
	for scanner.Scan() {
		lineNumber++
		line := strings.TrimSpace(scanner.Text())
		if strings.HasPrefix(line, "frame:") {
			t, err := parsePTSTime(line)
			if err != nil {
				return fmt.Errorf("line %d %q: %w", lineNumber, line, err)
			}
			frameTime = t
			inFrame = true
			continue
		}
		value, found := strings.CutPrefix(line, "lavfi.scene_score=")
		if !found {
			continue
		}
		if !inFrame {
			return fmt.Errorf("line %d %q: scene score before any frame header", lineNumber, line)
		}
		score, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Errorf("line %d %q: invalid scene score: %w", lineNumber, line, err)
		}
		emit(Event{Time: frameTime, Score: score})
		inFrame = false
	}
	if err := scanner.Err(); err != nil {
		return fmt.Errorf("read ffmpeg metadata: %w", err)
	}
	return nil
}

// parsePTSTime returns the pts_time field of a metadata frame header line.
func parsePTSTime(line string) (float64, error) {
	for _, field := range strings.Fields(line) {
		value, found := strings.CutPrefix(field, "pts_time:")
		if !found {
			continue
		}
		t, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid pts_time: %w", err)
		}
		return t, nil
	}
	return 0, fmt.Errorf("missing pts_time field")
}
