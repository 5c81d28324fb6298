package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// jobTimeout bounds each test's wait on Nomad.
const jobTimeout = 4 * time.Minute

// runJob submits a jobspec with `nomad job run -detach` and purges the job
// when the test ends.
func runJob(t *testing.T, ctx context.Context, jobID, jobspec string) {
	t.Helper()
	if _, err := testCluster.Run(ctx, "job", "run", "-detach", jobspec); err != nil {
		t.Fatalf("nomad job run: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := testCluster.API.StopJob(ctx, jobID, true); err != nil {
			t.Errorf("purge job %q: %v", jobID, err)
		}
	})
}

// firstAlloc waits for the job's first allocation and returns its id.
func firstAlloc(t *testing.T, ctx context.Context, jobID string) string {
	t.Helper()
	var id string
	err := cluster.Poll(ctx, "an allocation of job "+jobID, func(ctx context.Context) (bool, error) {
		allocs, err := testCluster.API.JobAllocations(ctx, jobID)
		if err != nil || len(allocs) == 0 {
			return false, err
		}
		id = allocs[0].ID
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestMotionJobRunsOnCameraHolders(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()

	runJob(t, ctx, "motion-detect", filepath.Join(repoRoot, "jobspecs", "motion-detect.nomad.hcl"))
	if _, err := testCluster.WaitAllocsTerminal(ctx, "motion-detect", 2); err != nil {
		t.Fatal(err)
	}
	placements, err := testCluster.Placements(ctx, "motion-detect")
	if err != nil {
		t.Fatal(err)
	}

	if len(placements) != 2 {
		t.Fatalf("got %d allocations, want 2: %+v", len(placements), placements)
	}
	wantNode := map[string]string{"north-gate": "edge-1", "south-gate": "edge-2"}
	for _, p := range placements {
		if p.Node != wantNode[p.Camera] {
			t.Errorf("camera %q ran on %q, want %q", p.Camera, p.Node, wantNode[p.Camera])
		}
		if p.DataNode != p.Node {
			t.Errorf("camera %q: data node %q differs from node %q", p.Camera, p.DataNode, p.Node)
		}
		if p.BytesMoved != 0 {
			t.Errorf("camera %q moved %d bytes, want 0", p.Camera, p.BytesMoved)
		}
		if p.Status != "complete" || p.ExitCode != 0 {
			t.Errorf("camera %q ended %s with exit code %d, want complete with 0; task events: %v", p.Camera, p.Status, p.ExitCode, p.TaskEvents)
		}
		// nomad alloc logs must show the program's final count line.
		if p.Events < 1 {
			t.Errorf("camera %q: motion events = %d in nomad alloc logs, want at least 1 (street footage has pedestrians)", p.Camera, p.Events)
		}
	}
}

func TestAllocExecOnService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()

	runJob(t, ctx, "e2e-shell-service", filepath.Join("testdata", "shell-service.nomad.hcl"))
	allocID := firstAlloc(t, ctx, "e2e-shell-service")
	if _, err := testCluster.WaitAllocRunning(ctx, allocID); err != nil {
		t.Fatal(err)
	}

	out, err := testCluster.Run(ctx, "alloc", "exec", "-task", "shell", allocID, "/bin/sh", "-c", "echo exec-ok; exit 0")
	if err != nil {
		t.Fatalf("nomad alloc exec: %v", err)
	}
	if !strings.Contains(out, "exec-ok") {
		t.Errorf("nomad alloc exec output = %q, want exec-ok", out)
	}

	_, err = testCluster.Run(ctx, "alloc", "exec", "-task", "shell", allocID, "/bin/sh", "-c", "exit 3")
	if err == nil {
		t.Errorf("nomad alloc exec of a command exiting 3 succeeded, want a failure")
	}
}

func TestPluginKillLosesNoTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()

	runJob(t, ctx, "e2e-slow-batch", filepath.Join("testdata", "slow-batch.nomad.hcl"))
	allocID := firstAlloc(t, ctx, "e2e-slow-batch")
	alloc, err := testCluster.WaitAllocRunning(ctx, allocID)
	if err != nil {
		t.Fatal(err)
	}
	agent := testCluster.ClientByNode(alloc.NodeID)
	if agent == nil {
		t.Fatalf("allocation %q runs on unknown node %q", allocID, alloc.NodeID)
	}

	pids, err := agent.PluginPIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 {
		t.Fatalf("found %d video plugin processes on %s, want 1", len(pids), agent.Name)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatalf("kill video plugin pid %d: %v", pids[0], err)
	}

	// Nomad launches a new plugin process, which recovers the task.
	err = cluster.Poll(ctx, "a new video plugin process on "+agent.Name, func(context.Context) (bool, error) {
		now, err := agent.PluginPIDs()
		return len(now) == 1 && now[0] != pids[0], err
	})
	if err != nil {
		t.Fatal(err)
	}

	allocs, err := testCluster.WaitAllocsTerminal(ctx, "e2e-slow-batch", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(allocs) != 1 {
		t.Fatalf("job has %d allocations, want 1 (a lost task would be rescheduled)", len(allocs))
	}
	final, err := testCluster.API.Allocation(ctx, allocID)
	if err != nil {
		t.Fatal(err)
	}
	state := final.TaskStates["slow"]
	if final.ClientStatus != "complete" {
		t.Errorf("allocation ended %q, want complete; events: %s", final.ClientStatus, eventSummary(state))
	}
	if state.Restarts != 0 {
		t.Errorf("task restarted %d times, want 0 (it should keep running)", state.Restarts)
	}
	if code := state.ExitCode(); code != 0 {
		t.Errorf("task exit code = %d, want 0", code)
	}

	// The driver writes the log files itself, so nomad alloc logs reads
	// every line once although the plugin died between them.
	logCases := []struct {
		name string
		args []string
		want string
	}{
		{"stdout", nil, "started\nfinished\n"},
		{"stderr", []string{"-stderr"}, ""},
		{"tail", []string{"-tail", "-n", "1"}, "finished\n"},
	}
	for _, tc := range logCases {
		args := append([]string{"alloc", "logs"}, tc.args...)
		logs, err := testCluster.Run(ctx, append(args, allocID, "slow")...)
		if err != nil {
			t.Fatalf("nomad alloc logs %s: %v", tc.name, err)
		}
		if logs != tc.want {
			t.Errorf("nomad alloc logs %s = %q, want %q", tc.name, logs, tc.want)
		}
	}
}

func TestUnknownTaskConfigField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()

	runJob(t, ctx, "e2e-unknown-field", filepath.Join("testdata", "unknown-field.nomad.hcl"))
	allocID := firstAlloc(t, ctx, "e2e-unknown-field")

	var event cluster.TaskEvent
	err := cluster.Poll(ctx, "a Failed Validation event", func(ctx context.Context) (bool, error) {
		alloc, err := testCluster.API.Allocation(ctx, allocID)
		if err != nil {
			return false, err
		}
		for _, e := range alloc.TaskStates["bad"].Events {
			if e.Type == "Failed Validation" {
				event = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if !strings.Contains(event.DisplayMessage, `"bogus"`) {
		t.Errorf("Failed Validation message = %q, want it to name the field \"bogus\"", event.DisplayMessage)
	}
}

// eventSummary lists a task's events by type and message, for failures.
func eventSummary(state cluster.TaskState) string {
	var parts []string
	for _, e := range state.Events {
		parts = append(parts, e.Type+": "+e.DisplayMessage)
	}
	return strings.Join(parts, "; ")
}
