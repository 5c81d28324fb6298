// Command bench measures the video task driver inside a real Nomad agent,
// next to Nomad's built-in docker driver on the same client. It reports the
// plugin's idle memory, the processes and memory added per running task,
// the time from job submission to the task's Started event, and the
// plugin's CPU time per fingerprint period over a large camera storage.
// It starts a loopback cluster with one server and one client, prints one
// JSON object with -json, and removes everything it created.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// options are the command-line settings.
type options struct {
	JSON       bool
	Plugin     string
	Testdata   string
	Only       map[string]bool
	Tasks      []int
	Runs       int
	Samples    int
	Settle     time.Duration
	Cameras    int
	Recordings int
	Period     time.Duration
	Periods    int
	Commit     string
}

// bench is the state shared by the measurements.
type bench struct {
	opts    options
	logger  hclog.Logger
	cluster *cluster.Cluster
	jobspec string
}

func main() {
	opts, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "bench", Output: os.Stderr, Level: hclog.Info})

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	rep, err := run(ctx, opts, logger)
	if err != nil {
		logger.Error("benchmark failed", "error", err)
		os.Exit(1)
	}
	if err := printReport(rep, opts.JSON); err != nil {
		logger.Error("print report", "error", err)
		os.Exit(1)
	}
}

func parseFlags() (options, error) {
	var o options
	var only, tasks string
	flag.BoolVar(&o.JSON, "json", false, "print one JSON object on one line instead of indented JSON")
	flag.StringVar(&o.Plugin, "plugin", "bin/plugins/video", "path of the built video plugin (make build)")
	flag.StringVar(&o.Commit, "commit", "", "commit the plugin was built from, for the report; empty means the checkout's HEAD")
	flag.StringVar(&o.Testdata, "testdata", "e2e/bench/testdata", "folder of the benchmark's jobspecs")
	flag.StringVar(&only, "only", "idle,tasks,latency,fingerprint", "comma-separated measurements to run")
	flag.StringVar(&tasks, "tasks", "1,50", "comma-separated task counts for the per-task measurement")
	flag.IntVar(&o.Runs, "runs", 10, "submit-to-started runs per driver, after one warm-up each")
	flag.IntVar(&o.Samples, "samples", 5, "memory samples per state, one a second; the median is reported")
	flag.DurationVar(&o.Settle, "settle", 15*time.Second, "wait before sampling a new state")
	flag.IntVar(&o.Cameras, "cameras", 16, "camera folders in the fingerprint measurement")
	flag.IntVar(&o.Recordings, "recordings", 10000, "recording files in the fingerprint measurement")
	flag.DurationVar(&o.Period, "period", time.Second, "video plugin fingerprint_period in the fingerprint measurement")
	flag.IntVar(&o.Periods, "periods", 30, "fingerprint periods over which CPU time is measured")
	flag.Parse()

	o.Only = make(map[string]bool)
	for _, name := range strings.Split(only, ",") {
		switch name {
		case "idle", "tasks", "latency", "fingerprint":
			o.Only[name] = true
		default:
			return o, fmt.Errorf("invalid -only value %q: use idle, tasks, latency or fingerprint", name)
		}
	}
	for _, field := range strings.Split(tasks, ",") {
		n, err := strconv.Atoi(field)
		if err != nil || n < 1 {
			return o, fmt.Errorf("invalid -tasks value %q: use positive task counts such as 1,50", field)
		}
		o.Tasks = append(o.Tasks, n)
	}
	if o.Runs < 1 || o.Samples < 1 || o.Periods < 1 || o.Cameras < 1 || o.Recordings < 0 {
		return o, fmt.Errorf("invalid -runs %d, -samples %d, -periods %d, -cameras %d or -recordings %d: runs, samples, periods and cameras must be at least 1",
			o.Runs, o.Samples, o.Periods, o.Cameras, o.Recordings)
	}
	if o.Period <= 0 {
		return o, fmt.Errorf("invalid -period %s: use a positive duration such as 1s", o.Period)
	}
	return o, nil
}

// run prepares the image and the cluster, runs the chosen measurements
// and removes what it created.
func run(ctx context.Context, opts options, logger hclog.Logger) (rep report, err error) {
	nomad, err := cluster.FindNomad()
	if err != nil {
		return rep, err
	}
	plugin, err := filepath.Abs(opts.Plugin)
	if err != nil {
		return rep, err
	}
	b := &bench{opts: opts, logger: logger}
	if b.jobspec, err = readJobspec(opts.Testdata, sleepJobspec); err != nil {
		return rep, err
	}
	rep.Machine = describeMachine(ctx, nomad)
	if opts.Commit != "" {
		rep.Machine.Commit = opts.Commit
	}

	work, err := os.MkdirTemp("", "ferry-bench-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(work)
	if err := importImage(ctx, work); err != nil {
		return rep, err
	}
	defer func() {
		if rmErr := removeImage(); rmErr != nil && err == nil {
			err = rmErr
		}
	}()

	logger.Info("starting cluster", "dir", work)
	b.cluster, err = startCluster(ctx, nomad, plugin, work)
	if b.cluster != nil {
		defer func() {
			if stopErr := b.cluster.Stop(); stopErr != nil && err == nil {
				err = stopErr
			}
		}()
	}
	if err != nil {
		return rep, err
	}
	return rep, b.measure(ctx, &rep)
}

// measure runs the chosen measurements in an order that leaves the
// fingerprint one, which restarts the client, for last.
func (b *bench) measure(ctx context.Context, rep *report) error {
	var err error
	if b.opts.Only["idle"] {
		b.logger.Info("measuring idle plugin memory")
		if rep.Idle, err = b.measureIdle(ctx); err != nil {
			return fmt.Errorf("idle memory: %w", err)
		}
	}
	if b.opts.Only["tasks"] {
		if rep.PerTask, err = b.measurePerTask(ctx); err != nil {
			return fmt.Errorf("per-task cost: %w", err)
		}
	}
	if b.opts.Only["latency"] {
		if rep.SubmitToStarted, err = b.measureLatency(ctx); err != nil {
			return fmt.Errorf("submit to started: %w", err)
		}
	}
	if b.opts.Only["fingerprint"] {
		if rep.Fingerprint, err = b.measureFingerprint(ctx); err != nil {
			return fmt.Errorf("fingerprint: %w", err)
		}
	}
	return nil
}

func printReport(rep report, compact bool) error {
	var data []byte
	var err error
	if compact {
		data, err = json.Marshal(rep)
	} else {
		data, err = json.MarshalIndent(rep, "", "  ")
	}
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(data))
	return err
}
