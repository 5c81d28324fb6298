package main

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/e2e/cluster"
)

func TestCompareLines(t *testing.T) {
	tests := []struct {
		name           string
		printed        string
		written        string
		wantLost       int
		wantDuplicated int
	}{
		{"same", "line 1\nline 2\n", "line 1\nline 2\n", 0, 0},
		{"tail lost", "line 1\nline 2\nline 3\n", "line 1\n", 2, 0},
		{"middle lost", "line 1\nline 2\nline 3\n", "line 1\nline 3\n", 1, 0},
		{"repeated after resume", "line 1\nline 2\n", "line 1\nline 2\nline 2\nline 2\n", 0, 2},
		{"other lines ignored", "ready\nline 1\n", "line 1\nnoise\n", 0, 0},
		{"empty", "", "", 0, 0},
		{"container restarted", "line 1\nline 2\nline 1\n", "line 1\nline 2\nline 1\n", 0, 0},
		{"second run lost", "line 1\nline 1\n", "line 1\n", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lost, duplicated := compareLines([]byte(tt.printed), []byte(tt.written))
			if lost != tt.wantLost {
				t.Errorf("lost = %d, want %d", lost, tt.wantLost)
			}
			if duplicated != tt.wantDuplicated {
				t.Errorf("duplicated = %d, want %d", duplicated, tt.wantDuplicated)
			}
		})
	}
}

func TestRoundsOf(t *testing.T) {
	tests := []struct {
		name     string
		total, n int
		want     []int
	}{
		{"even", 16, 8, []int{2, 2, 2, 2, 2, 2, 2, 2}},
		{"remainder first", 50, 8, []int{7, 7, 6, 6, 6, 6, 6, 6}},
		{"fewer rounds than scenarios", 3, 8, []int{1, 1, 1, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := 0
			for i, want := range tt.want {
				got := roundsOf(tt.total, tt.n, i)
				if got != want {
					t.Errorf("roundsOf(%d, %d, %d) = %d, want %d", tt.total, tt.n, i, got, want)
				}
				sum += got
			}
			if sum != tt.total {
				t.Errorf("rounds add up to %d, want %d", sum, tt.total)
			}
		})
	}
}

func TestReportFailed(t *testing.T) {
	tests := []struct {
		name   string
		report Report
		want   bool
	}{
		{"clean", Report{Rounds: 3}, false},
		{"task lost", Report{TasksLost: 1}, true},
		{"stray container", Report{StrayContainers: 1}, true},
		{"log line duplicated", Report{LogLinesDuplicated: 1}, true},
		{"reboot not recovered", Report{OfflineRebootTotal: 2, OfflineRebootRecovered: 1}, true},
		{"full disk not reported", Report{DiskFullEventsMissing: 1}, true},
		{"log position corrupt", Report{StateFilesCorrupt: 1}, true},
		{"lines dropped on full disk", Report{LogLinesDroppedDiskFull: 3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.report.Failed(); got != tt.want {
				t.Errorf("Failed() = %v, want %v", got, tt.want)
			}
		})
	}
}

// newTestSuite builds the plugin and returns a suite with a fixed seed.
func newTestSuite(t *testing.T) *suite {
	t.Helper()
	logger := hclog.New(&hclog.LoggerOptions{Name: "faults", Level: hclog.Info, Output: os.Stderr})
	s, err := newSuite(context.Background(), Options{Seed: 1, Timeout: 5 * time.Minute}, logger, &Report{Seed: 1})
	if err != nil {
		t.Fatalf("newSuite: %v", err)
	}
	t.Cleanup(func() { s.close(t.Failed()) })
	return s
}

// checkClean fails the test for every task lost, duplicated or restarted
// and every log line lost or duplicated.
func checkClean(t *testing.T, r *Report) {
	t.Helper()
	if r.TasksLost != 0 {
		t.Errorf("tasks lost = %d, want 0", r.TasksLost)
	}
	if r.Duplicates != 0 {
		t.Errorf("duplicate containers = %d, want 0", r.Duplicates)
	}
	if r.RestartedWithoutNeed != 0 {
		t.Errorf("restarted without need = %d, want 0", r.RestartedWithoutNeed)
	}
	if r.LogLinesLost != 0 {
		t.Errorf("log lines lost = %d, want 0", r.LogLinesLost)
	}
	if r.LogLinesDuplicated != 0 {
		t.Errorf("log lines duplicated = %d, want 0", r.LogLinesDuplicated)
	}
}

func TestCrashScenario(t *testing.T) {
	s := newTestSuite(t)
	faults := []crashFault{
		{delay: 0},
		{delay: 300 * time.Millisecond},
		{duringStart: true, delay: 0},
		{duringStart: true, delay: 2 * time.Second},
	}
	done, err := s.crashRounds(context.Background(), faults)
	if err != nil {
		t.Fatalf("crashRounds: %v", err)
	}
	if done != len(faults) {
		t.Errorf("rounds = %d, want %d", done, len(faults))
	}
	checkClean(t, s.report)
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}

func TestDaemonScenario(t *testing.T) {
	tests := []struct {
		name        string
		liveRestore bool
	}{
		{"live restore", true},
		{"no live restore", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSuite(t)
			faults := []daemonFault{{signal: syscall.SIGTERM}, {signal: syscall.SIGKILL, delay: 500 * time.Millisecond}}
			done, err := s.daemonRounds(context.Background(), tt.liveRestore, faults)
			if err != nil {
				t.Fatalf("daemonRounds: %v", err)
			}
			if done != len(faults) {
				t.Errorf("rounds = %d, want %d", done, len(faults))
			}
			checkClean(t, s.report)
			if s.report.StrayContainers != 0 {
				t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
			}
		})
	}
}

func TestRebootScenario(t *testing.T) {
	s := newTestSuite(t)
	done, err := runRebootScenario(context.Background(), s, 2)
	if err != nil {
		t.Fatalf("runRebootScenario: %v", err)
	}
	if done != 2 {
		t.Errorf("rounds = %d, want 2", done)
	}
	checkClean(t, s.report)
	if s.report.OfflineRebootRecovered != s.report.OfflineRebootTotal {
		t.Errorf("recovered after reboot = %d of %d, want all", s.report.OfflineRebootRecovered, s.report.OfflineRebootTotal)
	}
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}

func TestNomadScenario(t *testing.T) {
	nomad := findNomadOrSkip(t)
	t.Parallel()
	s := newTestSuite(t)
	done, err := runNomadScenario(nomad)(context.Background(), s, 2)
	if err != nil {
		t.Fatalf("runNomadScenario: %v", err)
	}
	if done != 2 {
		t.Errorf("rounds = %d, want 2", done)
	}
	checkClean(t, s.report)
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}

// TestShortRun runs three seeded rounds of the whole suite, as make faults
// does with more.
func TestShortRun(t *testing.T) {
	logger := hclog.New(&hclog.LoggerOptions{Name: "faults", Level: hclog.Info, Output: os.Stderr})
	report, err := Run(context.Background(), Options{Rounds: 3, Seed: 7, Timeout: 90 * time.Second, Nomad: true}, logger)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if report.Rounds != 3 {
		t.Errorf("rounds = %d, want 3", report.Rounds)
	}
	checkClean(t, report)
	if report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", report.StrayContainers)
	}
}

func TestPartitionScenario(t *testing.T) {
	nomad := findNomadOrSkip(t)
	t.Parallel()
	s := newTestSuite(t)
	faults := []partitionFault{
		{client: -1, hold: time.Second},
		{client: -1, long: true, hold: time.Second},
	}
	done, err := s.partitionRounds(context.Background(), nomad, faults)
	if err != nil {
		t.Fatalf("partitionRounds: %v", err)
	}
	if done != len(faults) {
		t.Errorf("rounds = %d, want %d", done, len(faults))
	}
	checkClean(t, s.report)
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
	if s.report.OverlapMaxS <= 0 {
		t.Errorf("overlap_max_s = %v, want a measured overlap after the long cuts", s.report.OverlapMaxS)
	}
}

// findNomadOrSkip returns the Nomad binary or skips the test without one.
func findNomadOrSkip(t *testing.T) string {
	t.Helper()
	nomad, err := cluster.FindNomad()
	if err != nil {
		if !errors.Is(err, cluster.ErrNomadNotFound) {
			t.Fatalf("FindNomad error = %v, want ErrNomadNotFound", err)
		}
		// No registry serves Nomad, so this is the one kind of test that
		// skips, under CI=true too.
		t.Skipf("skipped a Nomad fault scenario: %v", err)
	}
	return nomad
}

func TestCatalogScenario(t *testing.T) {
	nomad := findNomadOrSkip(t)
	t.Parallel()
	s := newTestSuite(t)
	faults := []catalogFault{
		{consul: true, signal: syscall.SIGINT, down: time.Second},
		{consul: true, scheduler: true, signal: syscall.SIGKILL, down: 2 * time.Second},
	}
	done, err := s.catalogRounds(context.Background(), nomad, faults)
	if err != nil {
		t.Fatalf("catalogRounds: %v", err)
	}
	if done != len(faults) {
		t.Errorf("rounds = %d, want %d", done, len(faults))
	}
	checkClean(t, s.report)
	if s.report.StrayContainers != 0 {
		t.Errorf("stray containers = %d, want 0", s.report.StrayContainers)
	}
}
