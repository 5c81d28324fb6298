package main

import (
	"context"
	"testing"
	"time"
)

func TestPullScenario(t *testing.T) {
	s := newTestSuite(t)
	faults := []pullFault{
		{delay: 0},
		{delay: 800 * time.Millisecond},
		{delay: 10 * time.Second},
	}
	done, err := s.pullRounds(context.Background(), faults)
	if err != nil {
		t.Fatalf("pullRounds: %v", err)
	}
	if done != len(faults) {
		t.Errorf("rounds = %d, want %d", done, len(faults))
	}
	checkClean(t, s.report)
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}
