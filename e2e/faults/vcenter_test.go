package main

import (
	"context"
	"testing"
)

func TestVCenterScenario(t *testing.T) {
	s := newTestSuite(t)
	done, err := runVCenterScenario(context.Background(), s, 3)
	if err != nil {
		t.Fatalf("runVCenterScenario: %v", err)
	}
	if done != 3 {
		t.Errorf("rounds = %d, want 3", done)
	}
	if s.report.TasksLost != 0 {
		t.Errorf("tasks lost = %d, want 0", s.report.TasksLost)
	}
	if s.report.StrayVMs != 0 {
		t.Errorf("stray VMs = %d, want 0", s.report.StrayVMs)
	}
}
