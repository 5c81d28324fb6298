package main

import (
	"context"
	"testing"
	"time"
)

func TestCompareLinesDropping(t *testing.T) {
	tests := []struct {
		name           string
		printed        string
		written        string
		from, to       int
		wantLost       int
		wantDropped    int
		wantDuplicated int
	}{
		{"none missing", "line 1\nline 2\n", "line 1\nline 2\n", 1, 2, 0, 0, 0},
		{"missing inside", "line 1\nline 2\nline 3\n", "line 1\n", 2, 3, 0, 2, 0},
		{"missing outside", "line 1\nline 2\nline 3\n", "line 2\n", 2, 2, 2, 0, 0},
		{"empty window", "line 1\nline 2\n", "line 1\n", 1, 0, 1, 0, 0},
		{"duplicate inside", "line 1\n", "line 1\nline 1\n", 1, 1, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost, dropped, duplicated := compareLinesDropping([]byte(tt.printed), []byte(tt.written), tt.from, tt.to)
			if lost != tt.wantLost {
				t.Errorf("lost = %d, want %d", lost, tt.wantLost)
			}
			if dropped != tt.wantDropped {
				t.Errorf("dropped = %d, want %d", dropped, tt.wantDropped)
			}
			if duplicated != tt.wantDuplicated {
				t.Errorf("duplicated = %d, want %d", duplicated, tt.wantDuplicated)
			}
		})
	}
}

func TestDiskFullScenario(t *testing.T) {
	s := newTestSuite(t)
	faults := []diskFullFault{
		{logs: false, delay: 300 * time.Millisecond, hold: time.Second},
		{logs: true, delay: 300 * time.Millisecond, hold: time.Second},
	}
	done, err := s.diskFullRounds(context.Background(), faults)
	if err != nil {
		t.Fatalf("diskFullRounds: %v", err)
	}
	if done != len(faults) {
		t.Errorf("rounds = %d, want %d", done, len(faults))
	}
	checkClean(t, s.report)
	if s.report.DiskFullEventsMissing != 0 {
		t.Errorf("disk full events missing = %d, want 0", s.report.DiskFullEventsMissing)
	}
	if s.report.StateFilesCorrupt != 0 {
		t.Errorf("corrupt log position files = %d, want 0", s.report.StateFilesCorrupt)
	}
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}
