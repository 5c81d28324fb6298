// Command ferry-demo starts a Nomad server and two clients on loopback, each
// client holding one camera's recordings, runs the motion-detect jobspec with
// the nomad CLI, and prints where each camera's task ran and how many bytes
// of video it had to move.
//
// With --hybrid it also starts vcsim, a simulated vCenter, and a third
// client dc-1 that loads the vsphere plugin, then runs report-vm.nomad.hcl:
// a VM that turns the edge allocations' motion event counts into one city
// report.
//
// It builds nothing: `make demo` builds the video plugin into bin/plugins and
// the ferry/motion-detect image first. KEEP=1 leaves the cluster running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/footage"
	"github.com/ferry-video/ferry/e2e/vcsim"
)

// cameras are the camera ids of jobspecs/motion-detect.nomad.hcl, in the
// order the recordings are given.
var cameras = []string{"north-gate", "south-gate"}

const jobspec = "jobspecs/motion-detect.nomad.hcl"

// jobName is the job that jobspec defines.
const jobName = "motion-detect"

// videoFlags collects repeated --video flags.
type videoFlags []string

func (v *videoFlags) String() string     { return strings.Join(*v, ",") }
func (v *videoFlags) Set(s string) error { *v = append(*v, s); return nil }

func main() {
	var videos videoFlags
	flag.Var(&videos, "video", "recording `FILE` for one camera; give it twice, for north-gate then south-gate (default: halves of vtest.avi)")
	output := flag.String("o", "table", "output format: table or json")
	timeout := flag.Duration("timeout", 10*time.Minute, "maximum time for the whole run")
	hybrid := flag.Bool("hybrid", false, "also start vcsim and a data center client dc-1 with the vsphere plugin, and make the city report in a VM")
	flag.Parse()

	if *output != "table" && *output != "json" {
		fatal(fmt.Errorf("invalid -o %q: use table or json", *output))
	}
	if len(videos) != 0 && len(videos) != len(cameras) {
		fatal(fmt.Errorf("invalid --video: got %d files, need %d (one per camera: %s)",
			len(videos), len(cameras), strings.Join(cameras, ", ")))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	if err := run(ctx, videos, *output, os.Getenv("KEEP") == "1", *hybrid); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ferry-demo:", err)
	os.Exit(1)
}

func run(ctx context.Context, videos []string, output string, keep, hybrid bool) (err error) {
	nomad, err := cluster.FindNomad()
	if err != nil {
		return err
	}
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	recordings, err := prepareRecordings(ctx, root, videos)
	if err != nil {
		return err
	}

	dir, err := os.MkdirTemp("", "ferry-demo-")
	if err != nil {
		return err
	}
	clients := []cluster.ClientSpec{
		{Name: "edge-1", Cameras: map[string][]string{cameras[0]: {recordings[0]}}},
		{Name: "edge-2", Cameras: map[string][]string{cameras[1]: {recordings[1]}}},
	}
	var dc *vcsim.Datacenter
	if hybrid {
		var spec cluster.ClientSpec
		dc, spec, err = startDatacenter(ctx, root, dir)
		if err != nil {
			return err
		}
		defer func() {
			if keep {
				fmt.Fprintf(os.Stderr, "KEEP=1: vcsim is still running at %s (pid %d)\n", dc.URL, dc.Pid())
				return
			}
			if closeErr := dc.Close(); closeErr != nil {
				err = errors.Join(err, fmt.Errorf("stop vcsim: %w", closeErr))
			}
		}()
		clients = append(clients, spec)
	}
	progress("starting a Nomad server and clients %s in %s", clientNames(clients), dir)
	c, err := cluster.Start(ctx, cluster.Config{
		Nomad:       nomad,
		VideoPlugin: filepath.Join(root, "bin", "plugins", "video"),
		Dir:         dir,
		Clients:     clients,
	})
	if err != nil {
		return err
	}
	defer func() {
		if keep {
			fmt.Fprintf(os.Stderr, "\nKEEP=1: the cluster is still running.\n  export NOMAD_ADDR=%s\n  %s node status\n  stop it with: %s\n",
				c.Server.Address, c.Nomad, c.StopHint(jobName))
			return
		}
		progress("stopping the cluster")
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("stop cluster: %w", stopErr))
		}
	}()

	placements, err := runJob(ctx, c, root)
	if err != nil {
		return err
	}
	if !hybrid {
		if err := printPlacements(os.Stdout, output, placements); err != nil {
			return err
		}
		return checkPlacements(placements)
	}
	if err := checkPlacements(placements); err != nil {
		return err
	}
	result, reportErr := runReport(ctx, c, dc, root, placements)
	if result != nil {
		if err := printHybrid(os.Stdout, output, placements, result); err != nil {
			return err
		}
	}
	return reportErr
}

// clientNames joins the clients' names with commas.
func clientNames(clients []cluster.ClientSpec) string {
	names := make([]string, len(clients))
	for i, c := range clients {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// runJob submits the jobspec with `nomad job run`, waits for every
// allocation to finish and returns their placements.
func runJob(ctx context.Context, c *cluster.Cluster, root string) ([]cluster.Placement, error) {
	progress("nomad job run %s", jobspec)
	if _, err := c.Run(ctx, "job", "run", "-detach", filepath.Join(root, jobspec)); err != nil {
		return nil, err
	}
	jobs, err := c.API.Jobs(ctx)
	if err != nil {
		return nil, err
	}
	if len(jobs) != 1 {
		return nil, fmt.Errorf("expected 1 job after nomad job run, found %d", len(jobs))
	}

	progress("waiting for job %q to finish", jobs[0].ID)
	if _, err := c.WaitAllocsTerminal(ctx, jobs[0].ID, len(cameras)); err != nil {
		return nil, err
	}
	return c.Placements(ctx, jobs[0].ID)
}

// checkPlacements returns an error naming every allocation that failed.
func checkPlacements(placements []cluster.Placement) error {
	var errs []error
	for _, p := range placements {
		if p.Status != "complete" || p.ExitCode != 0 {
			errs = append(errs, fmt.Errorf("allocation %s (camera %q on %s) ended %s with exit code %d; task events: %s; stderr: %s",
				p.AllocID, p.Camera, p.Node, p.Status, p.ExitCode, eventSummary(p.TaskEvents), p.StderrTail))
		}
	}
	return errors.Join(errs...)
}

// eventSummary joins task events as "type: message" pairs.
func eventSummary(events []cluster.TaskEvent) string {
	var parts []string
	for _, e := range events {
		parts = append(parts, e.Type+": "+e.DisplayMessage)
	}
	return strings.Join(parts, "; ")
}

// prepareRecordings returns one recording per camera: the --video files, or
// the two halves of vtest.avi.
func prepareRecordings(ctx context.Context, root string, videos []string) ([]string, error) {
	if len(videos) > 0 {
		for _, v := range videos {
			if _, err := os.Stat(v); err != nil {
				return nil, fmt.Errorf("invalid --video: %w", err)
			}
		}
		return videos, nil
	}

	cache := filepath.Join(root, ".cache", "footage")
	src, err := footage.Find(ctx, root, cache)
	if err != nil {
		return nil, err
	}
	progress("cutting %s into two recordings", src)
	parts, err := footage.Split(ctx, src, filepath.Join(cache, "recordings"))
	if err != nil {
		return nil, err
	}
	return parts[:], nil
}

// progress prints a step to standard error, so that -o json stays clean.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ferry-demo: "+format+"\n", args...)
}
