package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestValidateOptions(t *testing.T) {
	valid := Options{Rounds: 4, Timeout: time.Minute}
	tests := []struct {
		name      string
		change    func(*Options)
		wantInErr string
	}{
		{"valid", func(*Options) {}, ""},
		{"zero rounds", func(o *Options) { o.Rounds = 0 }, "-rounds 0"},
		{"zero timeout", func(o *Options) { o.Timeout = 0 }, "-timeout 0s"},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "-timeout -1s"},
		{"unknown scenario", func(o *Options) { o.Scenarios = []string{"crash", "flood"} }, `"flood"`},
		{"scenario twice", func(o *Options) { o.Scenarios = []string{"pull", "crash", "pull"} }, `"pull" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid
			tt.change(&opts)
			err := validateOptions(opts)
			if tt.wantInErr == "" {
				if err != nil {
					t.Fatalf("validateOptions: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("validateOptions error = %v, want one containing %q", err, tt.wantInErr)
			}
		})
	}
}

func TestCheckNomadScenarios(t *testing.T) {
	notFound := errors.New("nomad not found")
	tests := []struct {
		name      string
		requested []string
		enabled   bool
		findErr   error
		wantInErr string
	}{
		{"all scenarios without nomad", nil, true, notFound, ""},
		{"docker scenario without nomad", []string{"crash"}, false, notFound, ""},
		{"nomad scenario found", []string{"partition"}, true, nil, ""},
		{"nomad scenario not found", []string{"crash", "partition"}, true, notFound, "scenario partition needs a Nomad binary: set NOMAD_BIN"},
		{"nomad scenario turned off", []string{"consul"}, false, nil, "scenario consul needs Nomad, but -nomad=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNomadScenarios(tt.requested, tt.enabled, tt.findErr)
			if tt.wantInErr == "" {
				if err != nil {
					t.Fatalf("checkNomadScenarios: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("checkNomadScenarios error = %v, want one containing %q", err, tt.wantInErr)
			}
		})
	}
}

func TestExitReason(t *testing.T) {
	opts := Options{Rounds: 4, Timeout: time.Minute}
	tests := []struct {
		name        string
		report      Report
		runErr      error
		interrupted bool
		want        string
	}{
		{"all rounds clean", Report{Rounds: 4}, nil, false, ""},
		{"interrupted without error", Report{Rounds: 1}, nil, true, "interrupted after 1 of 4 rounds"},
		{"interrupted with error", Report{Rounds: 1}, context.Canceled, true, "interrupted after 1 of 4 rounds"},
		{"run error", Report{Rounds: 2}, errors.New("boom"), false, "failed after 2 of 4 rounds: boom"},
		{"no rounds", Report{}, nil, false, "ran 0 of 4 rounds"},
		{"timed out", Report{Rounds: 3}, nil, false, "timed out after 3 of 4 rounds (-timeout 1m0s)"},
		{"faults found", Report{Rounds: 4, TasksLost: 1}, nil, false, "faults found: see the counts in the JSON report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := exitReason(&tt.report, opts, tt.runErr, tt.interrupted)
			if got != tt.want {
				t.Fatalf("exitReason = %q, want %q", got, tt.want)
			}
		})
	}
}

// fakeScenario returns a scenario that records its name in ran, runs all
// its rounds and then calls after.
func fakeScenario(name string, ran *[]string, after func()) scenario {
	return scenario{name, func(ctx context.Context, s *suite, rounds int) (int, error) {
		*ran = append(*ran, name)
		after()
		return rounds, nil
	}}
}

func TestRunScenarios(t *testing.T) {
	tests := []struct {
		name       string
		requested  []string
		cancelAt   string
		wantRan    []string
		wantRounds int
	}{
		{"fixed order", nil, "", []string{"crash", "pull", "diskfull"}, 6},
		{"requested order", []string{"diskfull", "crash"}, "", []string{"diskfull", "crash"}, 6},
		{"stops on cancel", nil, "crash", []string{"crash"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var ran []string
			var all []scenario
			for _, name := range []string{"crash", "pull", "diskfull"} {
				after := func() {}
				if name == tt.cancelAt {
					after = cancel
				}
				all = append(all, fakeScenario(name, &ran, after))
			}
			s := &suite{logger: hclog.NewNullLogger(), deadline: time.Now().Add(time.Hour), report: &Report{}}
			if err := s.runScenarios(ctx, orderScenarios(all, tt.requested), 6); err != nil {
				t.Fatalf("runScenarios: %v", err)
			}
			if !slices.Equal(ran, tt.wantRan) {
				t.Errorf("scenarios ran = %v, want %v", ran, tt.wantRan)
			}
			if s.report.Rounds != tt.wantRounds {
				t.Errorf("rounds = %d, want %d", s.report.Rounds, tt.wantRounds)
			}
		})
	}
}
