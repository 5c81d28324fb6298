package motion

import (
	"os"
	"strings"
	"testing"
)

func TestParseSceneMetadata(t *testing.T) {
	tests := []struct {
		name   string
		input  string
		events []Event
	}{
		{
			name:   "empty output",
			input:  "",
			events: nil,
		},
		{
			name: "two frames",
			input: "frame:0    pts:1       pts_time:0.1\n" +
				"lavfi.scene_score=0.023947\n" +
				"frame:1    pts:250     pts_time:25\n" +
				"lavfi.scene_score=0.029107\n",
			events: []Event{{Time: 0.1, Score: 0.023947}, {Time: 25, Score: 0.029107}},
		},
		{
			name: "other metadata keys ignored",
			input: "frame:7    pts:181     pts_time:18.1\n" +
				"lavfi.some_other_key=7\n" +
				"lavfi.scene_score=0.010297\n",
			events: []Event{{Time: 18.1, Score: 0.010297}},
		},
		{
			name: "frame without score",
			input: "frame:0    pts:1       pts_time:0.1\n" +
				"frame:1    pts:2       pts_time:0.2\n" +
				"lavfi.scene_score=0.5\n",
			events: []Event{{Time: 0.2, Score: 0.5}},
		},
		{
			name:   "windows line endings",
			input:  "frame:0 pts:3 pts_time:0.3\r\nlavfi.scene_score=1.000000\r\n",
			events: []Event{{Time: 0.3, Score: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseSceneMetadata(strings.NewReader(tt.input))
			if err != nil {
				t.Fatalf("ParseSceneMetadata: %v", err)
			}
			if len(events) != len(tt.events) {
				t.Fatalf("got %d events %v, want %d %v", len(events), events, len(tt.events), tt.events)
			}
			for i := range events {
				if events[i] != tt.events[i] {
					t.Errorf("event %d = %+v, want %+v", i, events[i], tt.events[i])
				}
			}
		})
	}
}

func TestParseSceneMetadataErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		message string
	}{
		{
			name:    "score before header",
			input:   "lavfi.scene_score=0.5\n",
			message: "scene score before any frame header",
		},
		{
			name:    "missing pts_time",
			input:   "frame:0 pts:1\nlavfi.scene_score=0.5\n",
			message: "missing pts_time",
		},
		{
			name:    "pts_time without value",
			input:   "frame:0 pts:NOPTS pts_time:NOPTS\nlavfi.scene_score=0.5\n",
			message: "invalid pts_time",
		},
		{
			name:    "invalid score",
			input:   "frame:0 pts:1 pts_time:0.1\nlavfi.scene_score=high\n",
			message: "invalid scene score",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSceneMetadata(strings.NewReader(tt.input))
			if err == nil {
				t.Fatal("ParseSceneMetadata returned no error")
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("error %q does not contain %q", err, tt.message)
			}
		})
	}
}

// The fixture is ffmpeg 5.1's output for vtest.avi at threshold 0.01.
func TestParseSceneMetadataCaptured(t *testing.T) {
	file, err := os.Open("testdata/vtest-scene-0.01.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()

	events, err := ParseSceneMetadata(file)
	if err != nil {
		t.Fatalf("ParseSceneMetadata: %v", err)
	}
	if len(events) != 39 {
		t.Fatalf("got %d events, want 39", len(events))
	}
	first := Event{Time: 0.1, Score: 0.023947}
	if events[0] != first {
		t.Errorf("first event = %+v, want %+v", events[0], first)
	}
	for i, event := range events {
		if event.Score <= 0.01 {
			t.Errorf("event %d score %g is not above the 0.01 threshold", i, event.Score)
		}
		if i > 0 && event.Time <= events[i-1].Time {
			t.Errorf("event %d time %g does not follow %g", i, event.Time, events[i-1].Time)
		}
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		name  string
		event Event
		want  string
	}{
		{"rounds", Event{File: "a.avi", Time: 25.1, Score: 0.0214306}, "motion file=a.avi t=25.10 score=0.021"},
		{"nested file", Event{File: "2024/01/b.mp4", Time: 0, Score: 1}, "motion file=2024/01/b.mp4 t=0.00 score=1.000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.event.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
