package service

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// publishStorage runs one registrar sync for node with one recording of
// camera, as the registrar on that node would.
func publishStorage(t *testing.T, agent *consultest.Agent, node, camera string) {
	t.Helper()
	publishRoot(t, agent, node, camera, false)
}

// publishRoot is publishStorage with the recording under a replica root
// when replica is true.
func publishRoot(t *testing.T, agent *consultest.Agent, node, camera string, replica bool) {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, camera)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.avi"), []byte("RIFF\x10\x00\x00\x00AVI LIST"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := registrar.Config{Node: node, Site: "downtown", Roots: []string{root}, ConsulAddr: agent.HTTPAddr}
	if replica {
		cfg.Roots, cfg.ReplicaRoots = nil, []string{root}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("registrar config: %v", err)
	}
	r, err := registrar.New(&cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("registrar.New: %v", err)
	}
	if err := r.Sync(context.Background()); err != nil {
		t.Fatalf("registrar sync of node %q: %v", node, err)
	}
}

// waitForGroups returns the first registered job with want expanded
// groups. Registrations with fewer come from earlier catalog states.
func waitForGroups(t *testing.T, cluster *fakeCluster, want int) *api.Job {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case job := <-cluster.registered:
			if len(expandedGroups(job)) == want {
				return job
			}
		case <-timeout:
			t.Fatalf("no job with %d expanded groups registered within 60s", want)
		}
	}
}

func TestRunReplansOnCatalogChange(t *testing.T) {
	agent := consultest.Start(t)
	publishStorage(t, agent, "edge-1", "cam-a")

	cluster := newFakeCluster("edge-1", "edge-2")
	cluster.jobs["detect"] = templateJob(map[string]string{MetaSelector: "site=downtown", MetaLocality: "required"})
	source := &ConsulCatalog{Client: agent.Client(t), Service: "camera-storage", KVPrefix: "ferry/storage"}
	s := New(Config{Resync: time.Hour}, source, cluster, realClock{}, hclog.NewNullLogger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	first := waitForGroups(t, cluster, 1)
	if got := expandedGroups(first)["cam-a"].Meta[GroupMetaNode]; got != "edge-1" {
		t.Errorf("cam-a pinned to %q, want edge-1", got)
	}

	start := time.Now()
	publishStorage(t, agent, "edge-2", "cam-b")
	second := waitForGroups(t, cluster, 2)
	t.Logf("catalog change to job re-registered: %s", time.Since(start))

	if got := expandedGroups(second)["cam-b"].Meta[GroupMetaNode]; got != "edge-2" {
		t.Errorf("cam-b pinned to %q, want edge-2", got)
	}
	if got := expandedGroups(second)["cam-a"].Meta[GroupMetaNode]; got != "edge-1" {
		t.Errorf("cam-a moved to %q after the change, want edge-1", got)
	}
	if got := cluster.metaOf("edge-2")["ferry.cameras"]; got != "cam-b" {
		t.Errorf("edge-2 meta ferry.cameras = %q, want cam-b", got)
	}
}

// A camera whose original recordings are on one node and copies under
// another node's replica root gets its first group on the original holder,
// even where the replica holder sorts first.
func TestExpandPrefersOriginalOverReplica(t *testing.T) {
	agent := consultest.Start(t)
	publishRoot(t, agent, "edge-1", "cam-a", true)
	publishRoot(t, agent, "edge-2", "cam-a", false)

	source := &ConsulCatalog{Client: agent.Client(t), Service: "camera-storage", KVPrefix: "ferry/storage"}
	cat, _, err := source.Read(context.Background(), 0)
	if err != nil {
		t.Fatalf("read catalog: %v", err)
	}
	if !cat.Details["edge-1"]["cam-a"].Replica {
		t.Errorf("edge-1 document of cam-a has replica false, want true")
	}
	job := templateJob(map[string]string{MetaSelector: "site=downtown", MetaLocality: "required"})
	res := mustExpand(t, job, cat, testNodes("edge-1", "edge-2"))
	if got := expandedGroups(res.Job)["cam-a"].Meta[GroupMetaNode]; got != "edge-2" {
		t.Errorf("cam-a pinned to %q, want edge-2, which holds the original", got)
	}
}
