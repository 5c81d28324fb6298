package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// northGateJob returns the north-gate group of the test service jobspec as
// a job named jobID, with each old string replaced by its new one, written
// to a file.
func (e *consulEnv) northGateJob(t *testing.T, jobID string, replacements ...string) string {
	t.Helper()
	data, err := os.ReadFile(e.jobFile)
	if err != nil {
		t.Fatal(err)
	}
	hcl, _, _ := strings.Cut(string(data), `  group "south-gate"`)
	hcl = strings.TrimRight(hcl, "\n") + "\n}\n"
	hcl = strings.Replace(hcl, `job "`+discoveryJob+`"`, `job "`+jobID+`"`, 1)
	for i := 0; i+1 < len(replacements); i += 2 {
		if !strings.Contains(hcl, replacements[i]) {
			t.Fatalf("jobspec lacks %q", replacements[i])
		}
		hcl = strings.Replace(hcl, replacements[i], replacements[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), jobID+".nomad.hcl")
	if err := os.WriteFile(path, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func testBadInput(t *testing.T, ctx context.Context, env *consulEnv) {
	// Nomad v2.0.6-dev accepts the job; the allocation then fails when
	// the client registers the service.
	t.Run("service port label", func(t *testing.T) {
		jobID := "e2e-bad-service-port"
		env.runJob(t, ctx, jobID, env.northGateJob(t, jobID, `port     = "http"`, `port     = "metrics"`))
		alloc := waitAllocFailed(t, ctx, env, jobID)
		t.Logf("allocation %s: %s", alloc.ClientStatus, alloc.EventSummary())
		if !strings.Contains(alloc.EventSummary(), "metrics") {
			t.Errorf("task events = %s, want one that names the port label \"metrics\"", alloc.EventSummary())
		}
		env.purge(t, jobID)
		checkNoService(t, ctx, env)
	})

	t.Run("task port label", func(t *testing.T) {
		jobID := "e2e-bad-task-port"
		env.runJob(t, ctx, jobID, env.northGateJob(t, jobID, `ports   = ["http"]`, `ports   = ["http", "metrics"]`))
		event := waitTaskEvent(t, ctx, env, jobID, "Driver Failure")
		t.Logf("task event %s: %s", event.Type, event.DisplayMessage)
		if !strings.Contains(event.DisplayMessage, `port "metrics" in ports is not defined`) {
			t.Errorf("Driver Failure message = %q, want it to name the port \"metrics\"", event.DisplayMessage)
		}
		env.purge(t, jobID)
		checkNoService(t, ctx, env)
	})

	t.Run("check path not found", func(t *testing.T) {
		jobID := "e2e-bad-check-path"
		env.runJob(t, ctx, jobID, env.northGateJob(t, jobID, `path     = "/health"`, `path     = "/healthz"`))
		// The catalog keeps the first output of a check whose status stays
		// critical until check_update_interval (5 minutes by default) ends,
		// so the output is read from the agent that runs the check.
		var output string
		err := cluster.Poll(ctx, "the check to fail with 404", func(ctx context.Context) (bool, error) {
			checks, err := env.consul.Agent().ChecksWithFilter(`ServiceName == "motion-detect"`)
			for _, c := range checks {
				output = c.Output
				if c.Status == api.HealthCritical && strings.Contains(c.Output, "404") {
					return true, nil
				}
			}
			return false, err
		})
		t.Logf("check output: %s", output)
		if err != nil {
			t.Errorf("%v; last check output %q", err, output)
		}
		env.purge(t, jobID)
		checkNoService(t, ctx, env)
	})

	t.Run("camera tag characters", func(t *testing.T) {
		jobID := "e2e-bad-camera-tag"
		env.runJob(t, ctx, jobID, env.northGateJob(t, jobID, `"camera:north-gate"`, `"camera:north gate/ü?"`))
		err := cluster.Poll(ctx, "the odd camera tag in the catalog", func(ctx context.Context) (bool, error) {
			entries, _, err := env.consul.Catalog().Service("motion-detect", "camera:north gate/ü?", (&api.QueryOptions{}).WithContext(ctx))
			return len(entries) == 1, err
		})
		// Consul 1.14 stores any tag, so the instance registers. The report
		// cannot find it under camera:north-gate.
		if err != nil {
			t.Error(err)
		}
		env.purge(t, jobID)
		checkNoService(t, ctx, env)
	})
}

// waitTaskEvent waits for an event of the given type on the job's motion task.
func waitTaskEvent(t *testing.T, ctx context.Context, env *consulEnv, jobID, eventType string) cluster.TaskEvent {
	t.Helper()
	var found cluster.TaskEvent
	err := cluster.Poll(ctx, "a "+eventType+" event", func(ctx context.Context) (bool, error) {
		allocs, err := env.nomad.API.JobAllocations(ctx, jobID)
		if err != nil || len(allocs) == 0 {
			return false, err
		}
		for _, e := range allocs[0].TaskStates["motion"].Events {
			if e.Type == eventType {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// waitAllocFailed waits for the job's first allocation to fail or for its
// task to fail, and returns it.
func waitAllocFailed(t *testing.T, ctx context.Context, env *consulEnv, jobID string) cluster.Allocation {
	t.Helper()
	var found cluster.Allocation
	err := cluster.Poll(ctx, "an allocation of "+jobID+" to fail", func(ctx context.Context) (bool, error) {
		allocs, err := env.nomad.API.JobAllocations(ctx, jobID)
		if err != nil || len(allocs) == 0 {
			return false, err
		}
		found = allocs[0]
		return found.ClientStatus == "failed" || found.TaskStates["motion"].Failed, nil
	})
	if err != nil {
		t.Fatalf("%v; events: %s", err, found.EventSummary())
	}
	return found
}

// checkNoService fails the test unless motion-detect leaves the catalog.
func checkNoService(t *testing.T, ctx context.Context, env *consulEnv) {
	t.Helper()
	if err := env.waitDeregistered(ctx); err != nil {
		t.Error(err)
	}
}
