package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// Options are the command-line settings of a run.
type Options struct {
	Rounds  int
	Seed    int64
	Timeout time.Duration
	Nomad   bool
	// Scenarios lists the scenario names to run; empty means all.
	Scenarios []string
}

// suite is the state shared by the scenarios of one run.
type suite struct {
	logger   hclog.Logger
	rng      *mrand.Rand
	deadline time.Time
	report   *Report

	repoRoot string
	tempDir  string
	binary   string
	docker   *client.Client
	// nodeID labels every container of this run, so that the checks and the
	// cleanup find only those.
	nodeID string
}

// scenario runs up to rounds rounds of one kind of fault and returns how
// many it ran.
type scenario struct {
	name string
	run  func(ctx context.Context, s *suite, rounds int) (int, error)
}

// Run builds the plugin, runs the scenarios with opts.Rounds rounds in all
// and returns the report. The scenarios run in the order of opts.Scenarios,
// or in their fixed order when it is empty. A run stops starting scenarios
// at opts.Timeout and as soon as ctx is cancelled.
func Run(ctx context.Context, opts Options, logger hclog.Logger) (report *Report, err error) {
	report = &Report{Seed: opts.Seed}
	nomad, findErr := cluster.FindNomad()
	if err := checkNomadScenarios(opts.Scenarios, opts.Nomad, findErr); err != nil {
		return report, err
	}
	s, err := newSuite(ctx, opts, logger, report)
	if err != nil {
		return report, err
	}
	// An interrupt is no fault of the scenarios, so it does not keep files.
	defer func() { s.close(err != nil && ctx.Err() == nil) }()

	scenarios := []scenario{
		{"crash", runCrashScenario},
		{"live-restore", runDaemonScenario(true)},
		{"no-live-restore", runDaemonScenario(false)},
		{"reboot", runRebootScenario},
		{"vcenter", runVCenterScenario},
		{"pull", runPullScenario},
		{"diskfull", runDiskFullScenario},
	}
	if opts.Nomad && findErr == nil {
		report.WithNomad = true
		scenarios = append(scenarios,
			scenario{"nomad", runNomadScenario(nomad)},
			scenario{"partition", runPartitionScenario(nomad)},
			scenario{"consul", runCatalogScenario(nomad)})
	}
	if len(opts.Scenarios) > 0 {
		scenarios = orderScenarios(scenarios, opts.Scenarios)
		report.WithNomad = report.WithNomad && slices.ContainsFunc(scenarios, func(sc scenario) bool {
			return slices.Contains(nomadScenarioNames, sc.name)
		})
	}
	if err := s.runScenarios(ctx, scenarios, opts.Rounds); err != nil {
		return report, err
	}
	return report, nil
}

// runScenarios runs the scenarios in order with total rounds shared among
// them. It stops starting scenarios once total rounds ran, the run's time
// limit passed or ctx is cancelled.
func (s *suite) runScenarios(ctx context.Context, scenarios []scenario, total int) error {
	for i, sc := range scenarios {
		if s.report.Rounds >= total || s.expired() || ctx.Err() != nil {
			return nil
		}
		rounds := roundsOf(total, len(scenarios), i)
		if rounds == 0 {
			continue
		}
		s.logger.Info("starting scenario", "scenario", sc.name, "rounds", rounds)
		done, err := sc.run(ctx, s, rounds)
		s.report.Rounds += done
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.name, err)
		}
	}
	return nil
}

func newSuite(ctx context.Context, opts Options, logger hclog.Logger, report *Report) (*suite, error) {
	s := &suite{
		logger:   logger,
		rng:      mrand.New(mrand.NewSource(opts.Seed)),
		deadline: time.Now().Add(opts.Timeout),
		report:   report,
		nodeID:   "faults-" + randomHex(6),
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	s.repoRoot = root
	if s.tempDir, err = os.MkdirTemp("", "ferry-faults"); err != nil {
		return nil, err
	}
	s.binary = filepath.Join(s.tempDir, "video")
	build := exec.CommandContext(ctx, "go", "build", "-o", s.binary, "./plugins/cmd/video")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		s.close(false)
		return nil, fmt.Errorf("build the video plugin: %w", err)
	}

	if s.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err != nil {
		s.close(false)
		return nil, fmt.Errorf("create Docker client: %w", err)
	}
	if _, err := s.docker.Ping(ctx); err != nil {
		s.close(false)
		return nil, fmt.Errorf("dockerd is not reachable at %s (start dockerd to run the fault suite): %w", s.docker.DaemonHost(), err)
	}
	if err := importTestImage(ctx, s.docker); err != nil {
		s.close(false)
		return nil, fmt.Errorf("build test image %s: %w", testImage, err)
	}
	return s, nil
}

// close removes the run's containers and its temporary folder. It keeps
// the folder, which contains the Consul agents' logs, when keepFiles is
// true or FAULTS_KEEP_LOGS is set, and prints where it is.
func (s *suite) close(keepFiles bool) {
	if s.docker != nil {
		s.removeLeftContainers()
		s.docker.Close()
	}
	if s.tempDir == "" {
		return
	}
	if keepFiles || os.Getenv("FAULTS_KEEP_LOGS") != "" {
		fmt.Fprintf(os.Stderr, "kept the run's files, including agent logs, in %s\n", s.tempDir)
		return
	}
	os.RemoveAll(s.tempDir)
}

// expired reports whether the run's time limit has passed.
func (s *suite) expired() bool { return time.Now().After(s.deadline) }

// randomDelay returns a delay of up to max, drawn from the run's seed.
func (s *suite) randomDelay(max time.Duration) time.Duration {
	return time.Duration(s.rng.Int63n(int64(max) + 1))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// roundsOf returns the rounds of scenario i when total rounds are shared
// among n scenarios as evenly as possible, the earlier ones taking the
// remainder.
func roundsOf(total, n, i int) int {
	rounds := total / n
	if i < total%n {
		rounds++
	}
	return rounds
}

// removeLeftContainers force-removes the containers of this run's node
// that a scenario left when it stopped on an error or an interrupt.
func (s *suite) removeLeftContainers() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := listContainers(ctx, s.docker, labelNodeID, s.nodeID)
	if err != nil {
		s.logger.Warn("list containers left by the run failed", "node_id", s.nodeID, "error", err)
		return
	}
	for _, c := range list {
		if err := s.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			s.logger.Warn("remove container left by the run failed", "container_id", c.ID, "error", err)
		}
	}
}
