package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/e2e/cluster"
)

const labelsJobID = "e2e-video-labels"

// labelsJob sets container labels with an HCL map in task attr and with a
// block in task block. Nomad's client passes both to the driver as a list
// of maps.
var labelsJob = fmt.Sprintf(`job %q {
  type = "service"

  group "labels" {
    task "attr" {
      driver = "video"

      config {
        image   = %[2]q
        command = "/bin/sleep"
        args    = ["300"]
        labels  = {
          team = "traffic"
          zone = "north"
        }
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "block" {
      driver = "video"

      config {
        image   = %[2]q
        command = "/bin/sleep"
        args    = ["300"]
        labels {
          team = "traffic"
          zone = "north"
        }
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`, labelsJobID, busyboxImage)

func TestVideoTaskLabels(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()

	jobFile := filepath.Join(t.TempDir(), "labels.nomad.hcl")
	if err := os.WriteFile(jobFile, []byte(labelsJob), 0o644); err != nil {
		t.Fatal(err)
	}
	runJob(t, ctx, labelsJobID, jobFile)

	alloc := waitTasksRunning(t, ctx, labelsJobID, "attr", "block")
	for _, task := range []string{"attr", "block"} {
		labels := containerLabels(t, ctx, alloc.ID, task)
		for key, want := range map[string]string{"team": "traffic", "zone": "north"} {
			if got := labels[key]; got != want {
				t.Errorf("task %s: container label %q = %q, want %q; labels: %v", task, key, got, want, labels)
			}
		}
	}
}

// waitTasksRunning waits until the tasks of the job's first allocation run
// and returns the allocation. It fails the test as soon as any allocation
// of the job fails.
func waitTasksRunning(t *testing.T, ctx context.Context, jobID string, tasks ...string) cluster.Allocation {
	t.Helper()
	var alloc cluster.Allocation
	failed := false
	err := cluster.Poll(ctx, "the tasks of "+jobID+" to run", func(ctx context.Context) (bool, error) {
		allocs, err := testCluster.API.JobAllocations(ctx, jobID)
		if err != nil || len(allocs) == 0 {
			return false, err
		}
		for _, a := range allocs {
			if a.ClientStatus == "failed" {
				alloc, failed = a, true
				return true, nil
			}
		}
		alloc = allocs[0]
		for _, task := range tasks {
			if alloc.TaskStates[task].State != "running" {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("%v; events: %s", err, alloc.EventSummary())
	}
	if failed {
		t.Fatalf("allocation %s failed, want tasks %v running; events: %s", alloc.ID, tasks, alloc.EventSummary())
	}
	return alloc
}

// containerLabels returns the labels of the one running container of a
// task in an allocation.
func containerLabels(t *testing.T, ctx context.Context, allocID, task string) map[string]string {
	t.Helper()
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q",
		"--filter", "label=com.ferry-video.alloc_id="+allocID,
		"--filter", "label=com.ferry-video.task_name="+task).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	ids := strings.Fields(string(out))
	if len(ids) != 1 {
		t.Fatalf("found %d containers of task %s in allocation %s, want 1", len(ids), task, allocID)
	}

	format := `{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}`
	out, err = exec.CommandContext(ctx, "docker", "inspect", "--format", format, ids[0]).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", ids[0], err)
	}
	labels := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		key, value, _ := strings.Cut(line, "=")
		labels[key] = value
	}
	return labels
}
