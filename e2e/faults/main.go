// Command faults injects faults into ferry many times at random points.
// Without Nomad these are video plugin crashes (also in the middle of
// StartTask or of an image pull from a throttled loopback registry),
// restarts of a private dockerd with and without live restore, offline
// reboots, vCenter outages, and full disks under a task's log files or log
// position. When a Nomad binary is found it
// also crashes the plugin and restarts the client agent under Nomad, cuts
// Nomad clients' links to the server inside network namespaces it creates,
// and stops Consul and ferry-scheduler while per-camera tasks run. It prints
// one JSON report as its last line and exits non-zero when a task was lost,
// duplicated, restarted without need, a container or VM was left behind, a
// log line was lost or written twice, a full disk went unreported or a log
// position file was corrupt.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Report is the result of a run, printed as one JSON line.
type Report struct {
	Rounds               int   `json:"rounds"`
	Seed                 int64 `json:"seed"`
	TasksLost            int   `json:"tasks_lost"`
	Duplicates           int   `json:"duplicates"`
	RestartedWithoutNeed int   `json:"restarted_without_need"`
	StrayContainers      int   `json:"stray_containers"`
	StrayVMs             int   `json:"stray_vms"`
	LogLinesLost         int   `json:"log_lines_lost"`
	LogLinesDuplicated   int   `json:"log_lines_duplicated"`
	// LogLinesDroppedDiskFull counts lines that a task printed while its
	// log folder was full and that are missing from its log files. Such
	// lines may be lost, so they do not fail a run.
	LogLinesDroppedDiskFull int `json:"log_lines_dropped_disk_full"`
	// DiskFullEventsMissing counts full disks that the driver did not
	// report in a task event.
	DiskFullEventsMissing int `json:"disk_full_events_missing"`
	// StateFilesCorrupt counts log position files that did not parse after
	// their disk was full.
	StateFilesCorrupt      int  `json:"state_files_corrupt"`
	OfflineRebootRecovered int  `json:"offline_reboot_recovered"`
	OfflineRebootTotal     int  `json:"offline_reboot_total"`
	WithNomad              bool `json:"with_nomad"`
	// OverlapMaxS is the maximum time, in seconds, that a copy on a client
	// cut off from the servers and its replacement elsewhere both ran.
	OverlapMaxS float64 `json:"overlap_max_s"`
}

// Failed reports whether anything was lost, duplicated or left behind.
func (r *Report) Failed() bool {
	return r.TasksLost+r.Duplicates+r.RestartedWithoutNeed+r.StrayContainers+r.StrayVMs+
		r.LogLinesLost+r.LogLinesDuplicated+r.DiskFullEventsMissing+r.StateFilesCorrupt > 0 ||
		r.OfflineRebootRecovered != r.OfflineRebootTotal
}

// scenarioNames are the values -scenarios accepts.
var scenarioNames = []string{"crash", "live-restore", "no-live-restore", "reboot", "vcenter", "pull", "diskfull", "nomad", "partition", "consul"}

func main() {
	var opts Options
	flag.IntVar(&opts.Rounds, "rounds", 50, "number of fault rounds, shared among the scenarios")
	flag.Int64Var(&opts.Seed, "seed", 0, "seed of the random fault points; 0 picks one from the clock (replay a run with its printed seed)")
	flag.DurationVar(&opts.Timeout, "timeout", 30*time.Minute, "time limit of the whole run; the run stops starting rounds once it is reached")
	flag.BoolVar(&opts.Nomad, "nomad", true, "also run the nomad, partition and consul scenarios when a Nomad binary is found through NOMAD_BIN or PATH")
	scenarios := flag.String("scenarios", "", "comma-separated scenarios to run, of crash, live-restore, no-live-restore, reboot, vcenter, pull, diskfull, nomad, partition and consul, run in the order listed; empty runs all in that order")
	flag.Usage = printUsage
	flag.Parse()
	if opts.Seed == 0 {
		opts.Seed = time.Now().UnixNano()
	}
	if *scenarios != "" {
		opts.Scenarios = strings.Split(*scenarios, ",")
	}
	if err := validateOptions(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}

	logger := hclog.New(&hclog.LoggerOptions{Name: "faults", Level: hclog.LevelFromString(os.Getenv("FAULTS_LOG_LEVEL")), Output: os.Stderr})
	logger.Info("starting fault run", "seed", opts.Seed, "rounds", opts.Rounds, "timeout", opts.Timeout)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	report, err := Run(ctx, opts, logger)
	out, _ := json.Marshal(report)
	if err != nil {
		logger.Error("fault run failed", "seed", opts.Seed, "error", err)
	}
	fmt.Println(string(out))
	if reason := exitReason(report, opts, err, ctx.Err() != nil); reason != "" {
		fmt.Fprintf(os.Stderr, "fault run failed (seed %d): %s\n", opts.Seed, reason)
		os.Exit(1)
	}
}

// printUsage prints the -h text: the flags and the environment variables.
func printUsage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage: %s [flags]\n\nFlags:\n", os.Args[0])
	flag.PrintDefaults()
	fmt.Fprint(out, `
Environment:
  NOMAD_BIN         path of the Nomad binary; PATH is searched when unset
  FAULTS_LOG_LEVEL  log level on stderr: trace, debug, info (default), warn or error
  FAULTS_KEEP_LOGS  when set to any value, keep the agents' logs and print
                    their folder; they are also kept when a scenario fails

Interrupt (Ctrl-C) stops the run after cleanup; it then exits 1.
`)
}
