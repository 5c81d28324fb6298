package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	consulapi "github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
	nomadapi "github.com/hashicorp/nomad/api"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/ferry-video/ferry/scheduler/service"
)

// localityJob is a template job that ferry-scheduler expands into one
// group per camera, each pinned to a node storing the camera. Each task
// lists its camera's recordings, mounted read-only, then idles. Nomad
// interpolates the dotted metadata key as ${NOMAD_META_ferry.camera}, and
// the shell reads it from the environment as NOMAD_META_ferry_camera.
const localityJob = `
job "e2e-locality" {
  type = "service"

  meta = {
    "ferry.selector" = "cameras=north-gate,south-gate"
    "ferry.template" = "detect"
    "ferry.locality" = "required"
  }

  group "detect" {
    count = 0

    restart {
      attempts = 0
      mode     = "fail"
    }

    task "detect" {
      driver = "video"

      config {
        image   = "ferry-e2e/busybox:test"
        cameras = ["${NOMAD_META_ferry.camera}"]
        command = "/bin/sh"
        args    = ["-c", "trap 'exit 0' TERM; ls /recordings/$NOMAD_META_ferry_camera && while true; do sleep 1; done"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`

// localityEnv is a Consul agent, a three-client Nomad cluster, a registrar
// per client and the locality scheduler, all on loopback.
type localityEnv struct {
	consul     *consultest.Agent
	nomad      *cluster.Cluster
	api        *nomadapi.Client
	registrars map[string]context.CancelFunc
	done       map[string]chan struct{}
	logs       *lockedBuffer
}

// lockedBuffer collects the registrars' and scheduler's logs, which the
// test prints when it fails.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wallClock is the real time source for the registrars and the scheduler.
type wallClock struct{}

func (wallClock) Now() time.Time                         { return time.Now() }
func (wallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// startLocalityEnv starts the cluster: edge-1 stores north-gate, edge-2 a
// copy of north-gate and south-gate, and edge-3 a copy of south-gate.
func startLocalityEnv(t *testing.T, ctx context.Context) *localityEnv {
	t.Helper()
	env := &localityEnv{
		consul:     consultest.Start(t),
		registrars: make(map[string]context.CancelFunc),
		done:       make(map[string]chan struct{}),
		logs:       &lockedBuffer{},
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registrar and scheduler logs:\n%s", env.logs.String())
		}
	})

	c, err := cluster.Start(ctx, cluster.Config{
		Nomad:       testCluster.Nomad,
		VideoPlugin: videoPlugin,
		Dir:         filepath.Join(t.TempDir(), "cluster"),
		ConsulAddr:  env.consul.HTTPAddr,
		Clients: []cluster.ClientSpec{
			{Name: "edge-1", Cameras: map[string][]string{"north-gate": {cameraRecordings[0]}}},
			{Name: "edge-2", Cameras: map[string][]string{"north-gate": {cameraRecordings[0]}, "south-gate": {cameraRecordings[1]}}},
			{Name: "edge-3", Cameras: map[string][]string{"south-gate": {cameraRecordings[1]}}},
		},
	})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	env.nomad = c
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	env.api, err = nomadapi.NewClient(&nomadapi.Config{Address: c.Server.Address})
	if err != nil {
		t.Fatalf("nomad client: %v", err)
	}

	for _, client := range c.Clients {
		env.startRegistrar(t, client)
	}
	consul := env.consul.Client(t)
	err = cluster.Poll(ctx, "every registrar to publish", func(ctx context.Context) (bool, error) {
		entries, _, err := consul.Health().Service("camera-storage", "", true, (&consulapi.QueryOptions{}).WithContext(ctx))
		return len(entries) == len(c.Clients), err
	})
	if err != nil {
		t.Fatal(err)
	}
	env.startScheduler(t)
	return env
}

func (e *localityEnv) logger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: e.logs, Level: hclog.Info})
}

// startRegistrar publishes the client's camera storage until the test ends
// or stopRegistrar withdraws it. As ferry-registrar run does, it scans
// every period and 200ms after inotify reports a change.
func (e *localityEnv) startRegistrar(t *testing.T, client *cluster.Agent) {
	t.Helper()
	cfg := &registrar.Config{
		ConsulAddr: e.consul.HTTPAddr,
		Site:       "downtown",
		Node:       client.Name,
		Roots:      []string{client.CameraRoot},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("registrar config of %s: %v", client.Name, err)
	}
	reg, err := registrar.New(cfg, e.logger("registrar"))
	if err != nil {
		t.Fatalf("registrar of %s: %v", client.Name, err)
	}

	watcher, err := registrar.NewWatcher(cfg.Roots, e.logger("watch"))
	if err != nil {
		t.Fatalf("watch storage of %s: %v", client.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	changes := make(chan struct{}, 1)
	go watcher.Run(ctx, changes)
	ticker := time.NewTicker(time.Duration(cfg.Period))
	triggers := registrar.Triggers(ctx, ticker.C, changes, 200*time.Millisecond, wallClock{})

	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ticker.Stop()
		reg.Run(ctx, triggers, wallClock{}, true)
	}()
	e.registrars[client.Name], e.done[client.Name] = cancel, done
	t.Cleanup(func() { e.stopRegistrar(client.Name) })
}

// stopRegistrar stops a registrar, which withdraws its node from Consul,
// and waits until it has.
func (e *localityEnv) stopRegistrar(name string) {
	e.registrars[name]()
	<-e.done[name]
}

func (e *localityEnv) startScheduler(t *testing.T) {
	t.Helper()
	cat := &service.ConsulCatalog{Client: e.consul.Client(t), Service: "camera-storage", KVPrefix: "ferry/storage"}
	svc := service.New(service.Config{Resync: time.Minute}, cat, &service.NomadCluster{Client: e.api}, wallClock{}, e.logger("ferry-scheduler"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// registerTemplate registers the template job and purges it when the test
// ends.
func (e *localityEnv) registerTemplate(t *testing.T, ctx context.Context) {
	t.Helper()
	job, err := e.api.Jobs().ParseHCLOpts(&nomadapi.JobsParseRequest{JobHCL: localityJob, Canonicalize: true})
	if err != nil {
		t.Fatalf("parse template job: %v", err)
	}
	if _, _, err := e.api.Jobs().Register(job, (&nomadapi.WriteOptions{}).WithContext(ctx)); err != nil {
		t.Fatalf("register template job: %v", err)
	}
	t.Cleanup(func() {
		if _, _, err := e.api.Jobs().Deregister(*job.ID, true, nil); err != nil {
			t.Errorf("purge job %q: %v", *job.ID, err)
		}
	})
}

// runningAlloc waits until the group has a running allocation, and returns
// it.
func (e *localityEnv) runningAlloc(ctx context.Context, jobID, group string) (*nomadapi.AllocationListStub, error) {
	var found *nomadapi.AllocationListStub
	err := cluster.Poll(ctx, "a running allocation of group "+group, func(ctx context.Context) (bool, error) {
		allocs, _, err := e.api.Jobs().Allocations(jobID, false, (&nomadapi.QueryOptions{}).WithContext(ctx))
		if err != nil {
			return false, err
		}
		for _, a := range allocs {
			if a.TaskGroup != group || a.DesiredStatus != nomadapi.AllocDesiredStatusRun {
				continue
			}
			switch a.ClientStatus {
			case nomadapi.AllocClientStatusRunning:
				found = a
				return true, nil
			case nomadapi.AllocClientStatusFailed:
				return false, fmt.Errorf("allocation %s of group %s on %s failed: %s", a.ID, group, a.NodeName, lastEvents(a))
			}
		}
		return false, nil
	})
	return found, err
}

// lastEvents returns the last event of each task of an allocation.
func lastEvents(a *nomadapi.AllocationListStub) string {
	var out []string
	for task, state := range a.TaskStates {
		if n := len(state.Events); n > 0 {
			out = append(out, fmt.Sprintf("%s: %s: %s", task, state.Events[n-1].Type, state.Events[n-1].DisplayMessage))
		}
	}
	return strings.Join(out, "; ")
}

// groupMeta returns the metadata of one task group of the job in Nomad.
func (e *localityEnv) groupMeta(ctx context.Context, jobID, group string) (map[string]string, error) {
	job, _, err := e.api.Jobs().Info(jobID, (&nomadapi.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, err
	}
	for _, tg := range job.TaskGroups {
		if *tg.Name == group {
			return tg.Meta, nil
		}
	}
	return nil, fmt.Errorf("job %q has no group %q", jobID, group)
}

// taskStarted returns when the task of an allocation last started.
func (e *localityEnv) taskStarted(ctx context.Context, allocID, task string) (time.Time, error) {
	alloc, _, err := e.api.Allocations().Info(allocID, (&nomadapi.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return time.Time{}, err
	}
	state := alloc.TaskStates[task]
	if state == nil {
		return time.Time{}, fmt.Errorf("allocation %s has no state for task %q", allocID, task)
	}
	return state.StartedAt, nil
}

func TestLocalityPlacementAndFailover(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*jobTimeout)
	defer cancel()
	env := startLocalityEnv(t, ctx)
	env.registerTemplate(t, ctx)
	const jobID = "e2e-locality"

	north, err := env.runningAlloc(ctx, jobID, "detect-north-gate")
	if err != nil {
		t.Fatalf("initial placement: %v", err)
	}
	south, err := env.runningAlloc(ctx, jobID, "detect-south-gate")
	if err != nil {
		t.Fatalf("initial placement: %v", err)
	}
	t.Run("initial placement on holders", func(t *testing.T) {
		checkInitialPlacement(t, ctx, env, jobID, north, south)
	})
	if north.NodeName != "edge-1" {
		t.Fatalf("north-gate runs on %s, not edge-1, so there is no failover to test", north.NodeName)
	}

	// Withdraw edge-1's storage: its registrar stops and deregisters.
	storageChanged := time.Now()
	env.stopRegistrar(north.NodeName)
	moved, err := env.movedAlloc(ctx, jobID, "detect-north-gate", north.ID)
	if err != nil {
		t.Fatalf("failover of north-gate: %v", err)
	}
	started, err := env.taskStarted(ctx, moved.ID, "detect")
	if err != nil {
		t.Fatalf("failover of north-gate: %v", err)
	}
	t.Logf("storage change to task running on the replica holder: %.2fs", started.Sub(storageChanged).Seconds())

	t.Run("failover to replica", func(t *testing.T) {
		if moved.NodeName != "edge-2" {
			t.Errorf("north-gate moved to %s, want edge-2, the replica holder", moved.NodeName)
		}
		meta, err := env.groupMeta(ctx, jobID, "detect-north-gate")
		if err != nil {
			t.Fatal(err)
		}
		if meta[service.GroupMetaReason] != "replica" {
			t.Errorf("group reason %q, want replica", meta[service.GroupMetaReason])
		}
		if meta[service.GroupMetaBytesMoved] != "0" {
			t.Errorf("group bytes moved %q, want 0", meta[service.GroupMetaBytesMoved])
		}
		if started.Before(storageChanged) {
			t.Errorf("replica task started at %s, before the storage change at %s", started, storageChanged)
		}
	})

	// Delete south-gate's folder on edge-2: its registrar detects the change
	// through inotify and publishes edge-2 without the camera.
	south, err = env.runningAlloc(ctx, jobID, "detect-south-gate")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("folder removal moves group", func(t *testing.T) {
		testFolderRemoval(t, ctx, env, jobID, south)
	})
	t.Run("status report", func(t *testing.T) {
		checkReport(t, ctx, env)
	})
}

// checkReport checks the status report: once the stopped allocations are
// gone, every group runs on the node its metadata pins it to, and none
// reports a problem.
func checkReport(t *testing.T, ctx context.Context, env *localityEnv) {
	catalog := &service.ConsulCatalog{Client: env.consul.Client(t), Service: "camera-storage", KVPrefix: "ferry/storage"}
	var problems []string
	err := cluster.Poll(ctx, "the status report to settle", func(ctx context.Context) (bool, error) {
		cat, _, err := catalog.Read(ctx, 0)
		if err != nil {
			return false, err
		}
		rep, err := service.BuildReport(ctx, &service.NomadCluster{Client: env.api}, cat)
		if err != nil {
			return false, err
		}
		problems = reportProblems(rep)
		return len(problems) == 0, nil
	})
	if err != nil {
		t.Errorf("%v: %s", err, strings.Join(problems, "; "))
	}
}

// reportProblems lists what in the report differs from two groups that
// each run once, on their pinned node, without a problem.
func reportProblems(rep service.Report) []string {
	var problems []string
	if len(rep.Groups) != 2 {
		problems = append(problems, fmt.Sprintf("report has %d groups, want 2", len(rep.Groups)))
	}
	for _, g := range rep.Groups {
		if g.Problem != "" {
			problems = append(problems, fmt.Sprintf("group %s reports a problem: %s", g.Group, g.Problem))
		}
		running := 0
		for _, a := range g.Allocs {
			if a.ClientStatus != nomadapi.AllocClientStatusRunning {
				continue
			}
			running++
			if a.Node != g.Node {
				problems = append(problems, fmt.Sprintf("group %s runs on %s, but is pinned to %s", g.Group, a.Node, g.Node))
			}
		}
		if running != 1 {
			problems = append(problems, fmt.Sprintf("group %s has %d running allocations, want 1", g.Group, running))
		}
	}
	for _, e := range rep.Errors {
		problems = append(problems, fmt.Sprintf("job %s: %s", e.Job, e.Error))
	}
	return problems
}

// testFolderRemoval removes the camera folder of a running group from its
// node's storage and checks that the group moves to the other holder.
func testFolderRemoval(t *testing.T, ctx context.Context, env *localityEnv, jobID string, south *nomadapi.AllocationListStub) {
	holder := env.nomad.ClientByNode(south.NodeName)
	if holder == nil {
		t.Fatalf("no client named %s", south.NodeName)
	}
	want := map[string]string{"edge-2": "edge-3", "edge-3": "edge-2"}[south.NodeName]

	storageChanged := time.Now()
	if err := os.RemoveAll(filepath.Join(holder.CameraRoot, "south-gate")); err != nil {
		t.Fatal(err)
	}
	moved, err := env.movedAlloc(ctx, jobID, "detect-south-gate", south.ID)
	if err != nil {
		t.Fatalf("move of south-gate: %v", err)
	}
	started, err := env.taskStarted(ctx, moved.ID, "detect")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("camera folder removed to task running on the other holder: %.2fs", started.Sub(storageChanged).Seconds())

	if moved.NodeName != want {
		t.Errorf("south-gate moved to %s, want %s, the other holder", moved.NodeName, want)
	}
	meta, err := env.groupMeta(ctx, jobID, "detect-south-gate")
	if err != nil {
		t.Fatal(err)
	}
	if meta[service.GroupMetaBytesMoved] != "0" {
		t.Errorf("group bytes moved %q, want 0", meta[service.GroupMetaBytesMoved])
	}
}

// checkInitialPlacement checks that each camera's group runs on its holder
// and that one evaluation placed both, with none blocked.
func checkInitialPlacement(t *testing.T, ctx context.Context, env *localityEnv, jobID string, north, south *nomadapi.AllocationListStub) {
	// Both holders are empty, so placement breaks the tie by node name.
	if north.NodeName != "edge-1" {
		t.Errorf("north-gate runs on %s, want edge-1, the first of its holders", north.NodeName)
	}
	if south.NodeName != "edge-2" && south.NodeName != "edge-3" {
		t.Errorf("south-gate runs on %s, want a holder (edge-2 or edge-3)", south.NodeName)
	}
	if north.EvalID != south.EvalID {
		t.Errorf("north-gate placed by evaluation %s and south-gate by %s, want one evaluation", north.EvalID, south.EvalID)
	}

	evals, _, err := env.api.Jobs().Evaluations(jobID, (&nomadapi.QueryOptions{}).WithContext(ctx))
	if err != nil {
		t.Fatalf("list evaluations: %v", err)
	}
	placing := 0
	for _, eval := range evals {
		t.Logf("evaluation %.8s: triggered by %s, status %s, create index %d", eval.ID, eval.TriggeredBy, eval.Status, eval.CreateIndex)
		if eval.Status == nomadapi.EvalStatusBlocked {
			t.Errorf("evaluation %s is blocked: %s", eval.ID, eval.StatusDescription)
		}
		if eval.ID == north.EvalID {
			placing++
		}
	}
	if placing != 1 {
		t.Errorf("%d evaluations placed the groups, want 1", placing)
	}
}

// movedAlloc waits until the group runs in an allocation other than
// oldID, and returns it.
func (e *localityEnv) movedAlloc(ctx context.Context, jobID, group, oldID string) (*nomadapi.AllocationListStub, error) {
	var found *nomadapi.AllocationListStub
	err := cluster.Poll(ctx, "group "+group+" to run in a new allocation", func(ctx context.Context) (bool, error) {
		alloc, err := e.runningAlloc(ctx, jobID, group)
		if err != nil || alloc.ID == oldID {
			return false, err
		}
		found = alloc
		return true, nil
	})
	return found, err
}
