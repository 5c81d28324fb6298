package main

import "testing"

func TestCompareLineRange(t *testing.T) {
	tests := []struct {
		name           string
		printed        string
		written        string
		from, to       int
		wantLost       int
		wantDuplicated int
	}{
		{"same", "line 1\nline 2\n", "line 1\nline 2\n", 1, 2, 0, 0},
		{"lost inside", "line 1\nline 2\nline 3\n", "line 1\nline 3\n", 1, 3, 1, 0},
		{"lost before range", "line 1\nline 2\nline 3\n", "line 2\nline 3\n", 2, 3, 0, 0},
		{"tail not yet copied", "line 1\nline 2\nline 3\n", "line 1\n", 1, 1, 0, 0},
		{"duplicated inside", "line 1\nline 2\n", "line 1\nline 2\nline 2\n", 2, 2, 0, 1},
		{"empty range", "line 1\n", "", 2, 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost, duplicated := compareLineRange([]byte(tt.printed), []byte(tt.written), tt.from, tt.to)
			if lost != tt.wantLost {
				t.Errorf("lost = %d, want %d", lost, tt.wantLost)
			}
			if duplicated != tt.wantDuplicated {
				t.Errorf("duplicated = %d, want %d", duplicated, tt.wantDuplicated)
			}
		})
	}
}
