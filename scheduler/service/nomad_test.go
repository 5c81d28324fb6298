package service

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ferry-video/ferry/internal/nomadtest"
	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// startNomadAgent runs a Nomad dev agent until the test ends and returns
// a client for it.
func startNomadAgent(t *testing.T) *api.Client {
	t.Helper()
	return nomadtest.Start(t, "service-test").Client
}

// pollNomad calls check every 100ms until it returns nil, because the dev
// agent takes seconds to start and to take in metadata.
func pollNomad(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done within 60s: %v", what, err)
		}
		<-ticker.C
	}
}

func TestPassNomadAgent(t *testing.T) {
	client := startNomadAgent(t)
	nomad := &NomadCluster{Client: client}
	var node nodemeta.Node
	pollNomad(t, "nomad client node ready", func() error {
		nodes, _, err := nomad.Nodes(context.Background())
		if err != nil {
			return err
		}
		if len(nodes) != 1 {
			return fmt.Errorf("%d nodes registered, want 1", len(nodes))
		}
		node = nodes[0]
		return nil
	})

	hcl, err := os.ReadFile("testdata/per-camera.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	job, err := client.Jobs().ParseHCL(string(hcl), true)
	if err != nil {
		t.Fatalf("parse template job: %v", err)
	}
	if _, _, err := client.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register template job: %v", err)
	}

	cat := Catalog{Holdings: catalog.Holdings{node.Name: {Site: "downtown", Cameras: []string{"cam-a", "cam-b"}}}}
	s := New(Config{}, nil, nomad, realClock{}, hclog.NewNullLogger())
	if err := s.Pass(context.Background(), cat); err != nil {
		t.Fatalf("Pass: %v", err)
	}

	got, _, err := client.Jobs().Info("motion-per-camera", nil)
	if err != nil {
		t.Fatalf("read job: %v", err)
	}
	groups := expandedGroups(got)
	if len(groups) != 2 {
		t.Fatalf("job has %d expanded groups, want 2", len(groups))
	}
	for _, camera := range []string{"cam-a", "cam-b"} {
		checkPinnedGroup(t, groups[camera], camera, node.Name)
	}

	meta, err := client.Nodes().Meta().Read(node.ID, nil)
	if err != nil {
		t.Fatalf("read node metadata: %v", err)
	}
	if meta.Meta[nodemeta.KeyCameras] != "cam-a,cam-b" || meta.Meta[nodemeta.KeySite] != "downtown" {
		t.Errorf("node meta %s=%q %s=%q, want cam-a,cam-b and downtown", nodemeta.KeyCameras, meta.Meta[nodemeta.KeyCameras], nodemeta.KeySite, meta.Meta[nodemeta.KeySite])
	}

	if err := s.Pass(context.Background(), cat); err != nil {
		t.Fatalf("second Pass: %v", err)
	}
	if n := s.Status().Registrations; n != 1 {
		t.Errorf("registrations after two passes over the same input = %d, want 1", n)
	}
}

func checkPinnedGroup(t *testing.T, tg *api.TaskGroup, camera, node string) {
	t.Helper()
	if tg == nil {
		t.Errorf("no group for camera %q", camera)
		return
	}
	if got := deref(tg.Name); got != "motion-"+camera {
		t.Errorf("group name %q, want motion-%s", got, camera)
	}
	if got := deref(tg.Count); got != 1 {
		t.Errorf("group %q count %d, want 1", camera, got)
	}
	found := false
	for _, c := range tg.Constraints {
		found = found || (c.LTarget == camerasAttribute && c.Operand == "set_contains" && c.RTarget == camera)
	}
	if !found {
		t.Errorf("group for %q has constraints %+v, want set_contains %q on %s", camera, tg.Constraints, camera, camerasAttribute)
	}
	if got := tg.Meta[GroupMetaNode]; got != node {
		t.Errorf("group for %q pinned to %q, want %q", camera, got, node)
	}
}
