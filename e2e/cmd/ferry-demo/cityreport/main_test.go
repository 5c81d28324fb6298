package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestCityReport(t *testing.T) {
	tests := []struct {
		name     string
		events   string
		wantCode int
		wantOut  Report
		wantErr  string
	}{
		{
			name: "two cameras", events: "north-gate@edge-1=12,south-gate@edge-2=7",
			wantOut: Report{Cameras: []Camera{{"north-gate", "edge-1", 12}, {"south-gate", "edge-2", 7}}, TotalEvents: 19},
		},
		{name: "missing list", events: "", wantCode: 1, wantErr: "missing events"},
		{name: "missing node", events: "north-gate=3", wantCode: 1, wantErr: `invalid events item "north-gate=3"`},
		{name: "negative count", events: "north-gate@edge-1=-1", wantCode: 1, wantErr: "count of 0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{"-events", tt.events}, &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if tt.wantErr != "" {
				if !strings.Contains(stderr.String(), tt.wantErr) {
					t.Errorf("stderr = %q, want %q", stderr.String(), tt.wantErr)
				}
				return
			}
			var got Report
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("decode report: %v", err)
			}
			if got.TotalEvents != tt.wantOut.TotalEvents {
				t.Errorf("total_events = %d, want %d", got.TotalEvents, tt.wantOut.TotalEvents)
			}
			if len(got.Cameras) != len(tt.wantOut.Cameras) {
				t.Fatalf("cameras = %+v, want %+v", got.Cameras, tt.wantOut.Cameras)
			}
			for i := range got.Cameras {
				if got.Cameras[i] != tt.wantOut.Cameras[i] {
					t.Errorf("camera %d = %+v, want %+v", i, got.Cameras[i], tt.wantOut.Cameras[i])
				}
			}
		})
	}
}
