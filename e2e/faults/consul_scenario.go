package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/footage"
)

// catalogJobID names the template job of the Consul scenario.
const catalogJobID = "ferry-faults-catalog"

// catalogCameras maps each client to the camera its storage holds.
var catalogCameras = map[string]string{"edge-1": "cam-a", "edge-2": "cam-b"}

// catalogJob is a template job that ferry-scheduler expands into one
// group per camera at site "faults", each pinned to the node holding it.
var catalogJob = fmt.Sprintf(`
job %q {
  type = "service"
  meta = {
    "ferry.selector" = "site=faults"
    "ferry.template" = "analysis"
    "ferry.locality" = "required"
  }
  group "analysis" {
    count = 0
    restart {
      attempts = 0
      mode     = "fail"
    }
    task "analysis" {
      driver = "video"
      config {
        image        = %q
        command      = "/bin/sh"
        args         = ["-c", %q]
        network_mode = "none"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`, catalogJobID, testImage, counterScript)

// catalogFault is what a round of the Consul scenario stops.
type catalogFault struct {
	consul    bool
	scheduler bool
	// signal stops Consul; the scheduler always gets SIGKILL.
	signal syscall.Signal
	down   time.Duration
}

func (s *suite) pickCatalogFault() catalogFault {
	f := catalogFault{signal: syscall.SIGINT, down: 200*time.Millisecond + s.randomDelay(4*time.Second)}
	switch s.rng.Intn(3) {
	case 0:
		f.consul = true
	case 1:
		f.scheduler = true
	default:
		f.consul, f.scheduler = true, true
	}
	if s.rng.Intn(2) == 0 {
		f.signal = syscall.SIGKILL
	}
	return f
}

// catalogStack is everything the Consul scenario runs.
type catalogStack struct {
	consul     *consulAgent
	cluster    *cluster.Cluster
	registrars []*process
	scheduler  *process
}

// runCatalogScenario runs a Consul agent, a Nomad cluster that uses it, a
// storage registrar per client and the locality scheduler, and in each
// round stops Consul, the scheduler or both while the per-camera tasks run.
// The tasks must keep running in the same containers and the scheduler
// must not remove a group for a gap in the catalog.
func runCatalogScenario(nomad string) func(context.Context, *suite, int) (int, error) {
	return func(ctx context.Context, s *suite, rounds int) (int, error) {
		faults := make([]catalogFault, rounds)
		for i := range faults {
			faults[i] = s.pickCatalogFault()
		}
		return s.catalogRounds(ctx, nomad, faults)
	}
}

func (s *suite) catalogRounds(ctx context.Context, nomad string, faults []catalogFault) (done int, err error) {
	st, err := s.startCatalogStack(ctx, nomad)
	defer func() {
		if cerr := st.stop(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up Consul scenario: %w", cerr))
		}
	}()
	if err != nil {
		return 0, err
	}
	before, err := s.waitCatalogGroups(ctx, st)
	if err != nil {
		return 0, err
	}
	for _, f := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if err := s.catalogRound(ctx, st, before, f); err != nil {
			return done, err
		}
		done++
	}
	return done, s.finishCatalogJob(ctx, st)
}

func (s *suite) startCatalogStack(ctx context.Context, nomad string) (*catalogStack, error) {
	dir := filepath.Join(s.tempDir, "catalog")
	st := &catalogStack{}
	var err error
	if st.consul, err = startConsulAgent(ctx, filepath.Join(dir, "consul")); err != nil {
		return st, err
	}
	recording, err := footage.Find(ctx, s.repoRoot, filepath.Join(s.repoRoot, ".cache", "footage"))
	if err != nil {
		return st, err
	}
	var specs []cluster.ClientSpec
	for _, name := range slices.Sorted(maps.Keys(catalogCameras)) {
		specs = append(specs, cluster.ClientSpec{Name: name, Cameras: map[string][]string{catalogCameras[name]: {recording}}})
	}
	st.cluster, err = cluster.Start(ctx, cluster.Config{Nomad: nomad, VideoPlugin: s.binary, Dir: filepath.Join(dir, "nomad"), Clients: specs, ConsulAddr: st.consul.httpAddr()})
	if err != nil {
		return st, err
	}
	if err := s.startCatalogCommands(ctx, st, dir); err != nil {
		return st, err
	}

	job, err := st.cluster.API.ParseJob(ctx, catalogJob, "")
	if err != nil {
		return st, fmt.Errorf("parse job %q: %w", catalogJobID, err)
	}
	if _, err := st.cluster.API.RegisterJob(ctx, job); err != nil {
		return st, fmt.Errorf("register job %q: %w", catalogJobID, err)
	}
	return st, nil
}

// startCatalogCommands builds and starts a registrar per client and the
// scheduler from their shipped main packages.
func (s *suite) startCatalogCommands(ctx context.Context, st *catalogStack, dir string) error {
	registrar, err := s.buildCommand(ctx, "scheduler/cmd/ferry-registrar", dir)
	if err != nil {
		return err
	}
	scheduler, err := s.buildCommand(ctx, "scheduler/cmd/ferry-scheduler", dir)
	if err != nil {
		return err
	}

	for _, agent := range st.cluster.Clients {
		p := &process{name: "ferry-registrar " + agent.Name, binary: registrar, log: filepath.Join(dir, "registrar-"+agent.Name+".log"),
			args: []string{"run", "-consul-addr", st.consul.httpAddr(), "-site", "faults", "-node", agent.Name, "-root", agent.CameraRoot, "-period", "1s"}}
		st.registrars = append(st.registrars, p)
		if err := p.start(); err != nil {
			return err
		}
	}
	st.scheduler = &process{name: "ferry-scheduler", binary: scheduler, log: filepath.Join(dir, "scheduler.log"),
		args: []string{"run", "-consul-addr", st.consul.httpAddr(), "-nomad-addr", st.cluster.Server.Address, "-resync", "2s", "-metrics-addr", ""}}
	return st.scheduler.start()
}

// stop stops the scheduler, the registrars, the Nomad cluster and Consul,
// in that order, and returns every error.
func (st *catalogStack) stop() error {
	var errs []error
	if st.scheduler != nil {
		st.scheduler.stop(syscall.SIGINT)
	}
	for _, p := range st.registrars {
		p.stop(syscall.SIGINT)
	}
	if st.cluster != nil {
		errs = append(errs, st.cluster.Stop())
	}
	if st.consul != nil {
		errs = append(errs, st.consul.stop(syscall.SIGINT))
	}
	return errors.Join(errs...)
}

// catalogRound stops what f names for f.down, starts it again, waits until
// the registrars have published again and the scheduler has had time to
// act, and checks that every task still runs in its container.
func (s *suite) catalogRound(ctx context.Context, st *catalogStack, before map[string]*groupCopy, f catalogFault) error {
	s.logger.Info("stopping catalog components", "consul", f.consul, "scheduler", f.scheduler, "signal", f.signal, "down", f.down)
	if f.consul {
		st.consul.stop(f.signal)
	}
	if f.scheduler {
		st.scheduler.stop(syscall.SIGKILL)
		if err := st.scheduler.start(); err != nil {
			return err
		}
	}
	time.Sleep(f.down)
	if f.consul {
		if err := st.consul.start(ctx); err != nil {
			return err
		}
	}
	if err := s.waitCatalogPublished(ctx, st); err != nil {
		return err
	}
	// The scheduler resyncs every 2 s and reacts to catalog changes at once;
	// two resyncs give a wrong decision time to show.
	time.Sleep(4 * time.Second)
	for _, p := range append([]*process{st.scheduler}, st.registrars...) {
		if err := p.running(); err != nil {
			return err
		}
	}
	return s.checkCatalogGroups(ctx, st, before)
}

// waitCatalogPublished waits until every registrar's storage service is in
// Consul's catalog again.
func (s *suite) waitCatalogPublished(ctx context.Context, st *catalogStack) error {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	url := "http://" + st.consul.httpAddr() + "/v1/catalog/service/camera-storage"
	return cluster.Poll(wctx, "the registrars to publish to Consul again", func(ctx context.Context) (bool, error) {
		body, err := getBody(ctx, url)
		if err != nil {
			return false, nil
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(body, &entries); err != nil {
			return false, err
		}
		return len(entries) == len(st.registrars), nil
	})
}

// waitCatalogGroups waits until the scheduler has expanded the job and each
// camera's group runs, and returns the copy of each group.
func (s *suite) waitCatalogGroups(ctx context.Context, st *catalogStack) (map[string]*groupCopy, error) {
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var groups map[string]*groupCopy
	var summary string
	err := cluster.Poll(wctx, "the scheduler to place a group per camera", func(ctx context.Context) (bool, error) {
		now, all, err := s.runningGroups(ctx, st.cluster)
		if err != nil {
			return false, err
		}
		groups, summary = now, all
		return len(groups) == len(catalogCameras), nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w (allocations: %s; scheduler log ends with %q)", err, summary, tailFile(st.scheduler.log, 1500))
	}
	return groups, nil
}

// runningGroups returns the running copy of each group of the catalog job
// with its container, and a summary of every allocation.
func (s *suite) runningGroups(ctx context.Context, c *cluster.Cluster) (map[string]*groupCopy, string, error) {
	allocs, err := c.API.JobAllocations(ctx, catalogJobID)
	if err != nil {
		return nil, "", err
	}
	groups := make(map[string]*groupCopy)
	var states []string
	for _, a := range allocs {
		state := fmt.Sprintf("%s/%s=%s/%s", a.TaskGroup, a.ID[:8], a.DesiredStatus, a.ClientStatus)
		if a.ClientStatus == "failed" && len(states) == 0 {
			if full, err := c.API.Allocation(ctx, a.ID); err == nil {
				state += " (" + full.EventSummary() + ")"
			}
		}
		states = append(states, state)
		if a.ClientStatus != "running" || a.DesiredStatus != "run" {
			continue
		}
		info, n, err := allocContainer(ctx, s, a.ID)
		if err != nil {
			return nil, "", err
		}
		if n == 0 || info.State == nil || !info.State.Running {
			continue
		}
		if groups[a.TaskGroup] != nil {
			s.logger.Error("catalog job group runs twice", "group", a.TaskGroup)
			s.report.Duplicates++
		}
		groups[a.TaskGroup] = &groupCopy{allocID: a.ID, nodeID: a.NodeID, containerID: info.ID, startedAt: info.State.StartedAt, clientStatus: a.ClientStatus}
	}
	return groups, strings.Join(states, " "), nil
}

// checkCatalogGroups counts each group that no longer runs as lost and each
// group whose copy changed as restarted without need.
func (s *suite) checkCatalogGroups(ctx context.Context, st *catalogStack, before map[string]*groupCopy) error {
	now, summary, err := s.runningGroups(ctx, st.cluster)
	if err != nil {
		return err
	}
	for g, b := range before {
		a := now[g]
		switch {
		case a == nil:
			s.logger.Error("group torn down after a catalog gap", "group", g, "allocations", summary)
			s.report.TasksLost++
		case a.allocID != b.allocID || a.containerID != b.containerID || a.startedAt != b.startedAt:
			s.logger.Error("group replaced or restarted after a catalog gap", "group", g, "alloc_id", b.allocID, "now_alloc_id", a.allocID)
			s.report.RestartedWithoutNeed++
			before[g] = a
		}
	}
	for g := range now {
		if before[g] == nil {
			s.logger.Error("new group after a catalog gap", "group", g)
			s.report.Duplicates++
		}
	}
	return nil
}

// finishCatalogJob purges the job and counts the containers left.
func (s *suite) finishCatalogJob(ctx context.Context, st *catalogStack) error {
	st.scheduler.stop(syscall.SIGINT)
	if err := st.cluster.API.StopJob(ctx, catalogJobID, true); err != nil {
		return fmt.Errorf("stop job %q: %w", catalogJobID, err)
	}
	saved := s.nodeID
	defer func() { s.nodeID = saved }()
	for _, a := range st.cluster.Clients {
		s.nodeID = a.NodeID
		strays, err := s.removeStrays(ctx, s.docker, strayGrace)
		s.report.StrayContainers += strays
		if err != nil {
			return err
		}
	}
	return nil
}

// tailFile returns the last n bytes of a file, or "" if it cannot be read.
func tailFile(path string, n int) string {
	data, _ := os.ReadFile(path)
	return string(data[max(0, len(data)-n):])
}
