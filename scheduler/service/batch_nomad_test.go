package service

import (
	"context"
	"fmt"
	"testing"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// batchTemplate is a batch template job whose groups finish at once, run
// by the dev agent's raw_exec driver.
const batchTemplate = `
job "batch-per-camera" {
  type = "batch"
  meta = {
    "ferry.selector" = "site=downtown"
    "ferry.template" = "scan"
    "ferry.locality" = "required"
  }
  group "scan" {
    count = 0
    task "scan" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo $NOMAD_META_ferry_camera"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// groupAllocs returns the allocations of each group of the job.
func groupAllocs(client *api.Client, jobID string) (map[string][]*api.AllocationListStub, error) {
	allocs, _, err := client.Jobs().Allocations(jobID, true, nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]*api.AllocationListStub)
	for _, a := range allocs {
		out[a.TaskGroup] = append(out[a.TaskGroup], a)
	}
	return out, nil
}

// waitComplete waits until the group has a complete allocation.
func waitComplete(t *testing.T, client *api.Client, jobID, group string) *api.AllocationListStub {
	t.Helper()
	var done *api.AllocationListStub
	pollNomad(t, "allocation of "+group+" complete", func() error {
		byGroup, err := groupAllocs(client, jobID)
		if err != nil {
			return err
		}
		for _, a := range byGroup[group] {
			if a.ClientStatus == api.AllocClientStatusComplete {
				done = a
				return nil
			}
		}
		return fmt.Errorf("group %s has allocations %d, none complete", group, len(byGroup[group]))
	})
	return done
}

func TestBatchReRegistrationKeepsDoneGroups(t *testing.T) {
	client := startNomadAgent(t)
	nomad := &NomadCluster{Client: client}
	node := waitNomadNode(t, nomad)

	job, err := client.Jobs().ParseHCL(batchTemplate, true)
	if err != nil {
		t.Fatalf("parse template job: %v", err)
	}
	if _, _, err := client.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register template job: %v", err)
	}
	s := New(Config{}, nil, nomad, realClock{}, hclog.NewNullLogger())
	pass := func(cameras ...string) {
		t.Helper()
		cat := Catalog{Holdings: catalog.Holdings{node: {Site: "downtown", Cameras: cameras}}}
		if err := s.Pass(context.Background(), cat); err != nil {
			t.Fatalf("Pass with %v: %v", cameras, err)
		}
	}

	pass("cam-a")
	first := waitComplete(t, client, "batch-per-camera", "scan-cam-a")
	pass("cam-a", "cam-b")
	waitComplete(t, client, "batch-per-camera", "scan-cam-b")
	pass("cam-a", "cam-b", "cam-c")
	waitComplete(t, client, "batch-per-camera", "scan-cam-c")

	byGroup, err := groupAllocs(client, "batch-per-camera")
	if err != nil {
		t.Fatal(err)
	}
	for _, group := range []string{"scan-cam-a", "scan-cam-b"} {
		t.Run(group, func(t *testing.T) {
			if n := len(byGroup[group]); n != 1 {
				t.Errorf("%s has %d allocations after cameras were added, want 1", group, n)
			}
		})
	}
	if got := byGroup["scan-cam-a"]; len(got) > 0 && got[0].ID != first.ID {
		t.Errorf("scan-cam-a allocation %s, want the first one %s", got[0].ID, first.ID)
	}
}

// waitNomadNode waits until the dev agent's client node is ready and
// returns its name.
func waitNomadNode(t *testing.T, nomad *NomadCluster) string {
	t.Helper()
	var name string
	pollNomad(t, "nomad client node ready", func() error {
		nodes, _, err := nomad.Nodes(context.Background())
		if err != nil {
			return err
		}
		if len(nodes) != 1 {
			return fmt.Errorf("%d nodes registered, want 1", len(nodes))
		}
		name = nodes[0].Name
		return nil
	})
	return name
}

// controlJob is a batch job without a tagged version, which Nomad's
// garbage collection removes once it finished.
const controlJob = `
job "gc-control" {
  type = "batch"
  group "run" {
    task "run" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// A forced garbage collection removes a finished batch job, but not the
// batch template job whose version the service tagged.
func TestBatchTemplateSurvivesGC(t *testing.T) {
	client := startNomadAgent(t)
	nomad := &NomadCluster{Client: client}
	node := waitNomadNode(t, nomad)

	for _, spec := range []string{batchTemplate, controlJob} {
		job, err := client.Jobs().ParseHCL(spec, true)
		if err != nil {
			t.Fatalf("parse job: %v", err)
		}
		if _, _, err := client.Jobs().Register(job, nil); err != nil {
			t.Fatalf("register job %q: %v", deref(job.ID), err)
		}
	}
	s := New(Config{}, nil, nomad, realClock{}, hclog.NewNullLogger())
	cat := Catalog{Holdings: catalog.Holdings{node: {Site: "downtown", Cameras: []string{"cam-a"}}}}
	if err := s.Pass(context.Background(), cat); err != nil {
		t.Fatalf("Pass: %v", err)
	}
	waitComplete(t, client, "batch-per-camera", "scan-cam-a")
	waitComplete(t, client, "gc-control", "run")

	pollNomad(t, "finished control job garbage-collected", func() error {
		if err := client.System().GarbageCollect(); err != nil {
			return err
		}
		if _, _, err := client.Jobs().Info("gc-control", nil); err == nil {
			return fmt.Errorf("job gc-control still exists")
		}
		return nil
	})

	if _, _, err := client.Jobs().Info("batch-per-camera", nil); err != nil {
		t.Fatalf("template job after garbage collection: %v", err)
	}
	tagged, _, err := client.Jobs().VersionByTag("batch-per-camera", KeepTag, nil)
	if err != nil {
		t.Fatalf("version tagged %q: %v", KeepTag, err)
	}
	if tagged.VersionTag == nil || tagged.VersionTag.Name != KeepTag {
		t.Errorf("version tag %+v, want %q", tagged.VersionTag, KeepTag)
	}
}

// turnsTemplate is a required batch template whose groups each take more
// than half of the node's CPU, so that they can only run one at a time.
const turnsTemplate = `
job "batch-in-turns" {
  type = "batch"
  meta = {
    "ferry.selector" = "site=downtown"
    "ferry.template" = "scan"
    "ferry.locality" = "required"
  }
  group "scan" {
    count = 0
    task "scan" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 1"]
      }
      resources {
        cpu    = %d
        memory = 32
      }
    }
  }
}
`

// Groups of a required batch job that do not fit on their holder at once
// are all registered, and Nomad runs them in turns.
func TestBatchGroupsRunInTurns(t *testing.T) {
	client := startNomadAgent(t)
	nomad := &NomadCluster{Client: client}
	node := waitNomadNode(t, nomad)
	_, nodes, err := nomad.Nodes(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	job, err := client.Jobs().ParseHCL(fmt.Sprintf(turnsTemplate, nodes[0].CPUMHz/2+1), true)
	if err != nil {
		t.Fatalf("parse template job: %v", err)
	}
	if _, _, err := client.Jobs().Register(job, nil); err != nil {
		t.Fatalf("register template job: %v", err)
	}
	s := New(Config{}, nil, nomad, realClock{}, hclog.NewNullLogger())
	cameras := []string{"cam-a", "cam-b", "cam-c"}
	cat := Catalog{Holdings: catalog.Holdings{node: {Site: "downtown", Cameras: cameras}}}
	if err := s.Pass(context.Background(), cat); err != nil {
		t.Fatalf("Pass: %v", err)
	}
	if st := s.Status(); len(st.Jobs) != 1 || len(st.Jobs[0].Unplaced) != 0 {
		t.Fatalf("status jobs %+v, want one job with every group placed", st.Jobs)
	}
	for _, camera := range cameras {
		waitComplete(t, client, "batch-in-turns", GroupName("scan", camera))
	}
}
