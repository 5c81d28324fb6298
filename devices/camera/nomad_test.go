package camera_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// cameraJob is a batch job whose task reads 10 frames from the camera it
// is allocated. Nomad puts the device's environment in the task's
// environment before it interpolates the args. %[1]s is the job id, %[2]s
// the reader image and %[3]s the requested location.
const cameraJob = `
job %[1]q {
  datacenters = ["*"]
  type        = "batch"

  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "reader" {
      driver = "video"
      config {
        image        = %[2]q
        entrypoint   = ["/usr/bin/ffmpeg"]
        network_mode = "host"
        args         = ["-hide_banner", "-nostdin", "-rtsp_transport", "tcp",
                        "-i", "${FERRY_CAMERA_GATE_1_URL}", "-frames:v", "10", "-f", "null", "-"]
      }
      resources {
        cpu    = 100
        memory = 128
        device "ferry/camera" {
          count = 1
          constraint {
            attribute = "${device.attr.location}"
            value     = %[3]q
          }
        }
      }
    }
  }
}
`

// TestNomadPlacesCameraJob runs a Nomad agent whose client loads the video
// driver and the camera plugin. A job that requests a camera at
// 5th-and-main must run, get gate-1 and read its stream. A job that
// requests a camera at a location no node has must stay blocked.
func TestNomadPlacesCameraJob(t *testing.T) {
	nomad, err := cluster.FindNomad()
	if err != nil {
		if !errors.Is(err, cluster.ErrNomadNotFound) {
			t.Fatalf("FindNomad error = %v, want ErrNomadNotFound", err)
		}
		// No package registry serves Nomad, so this is the one kind of
		// test that skips, under CI=true too.
		t.Skipf("skipped the Nomad camera test: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	server := startRTSPServer(t)
	agent := startNomadAgent(t, nomad, server.URL)
	nodeID := waitCameraNode(ctx, t, agent)

	t.Run("driver attributes", func(t *testing.T) {
		node, err := agent.api.Node(ctx, nodeID)
		if err != nil {
			t.Fatalf("read node: %v", err)
		}
		value, ok := node.Attributes["driver.video.local_cameras"]
		if !ok {
			t.Fatalf("node has no driver.video.local_cameras attribute: %v", node.Attributes)
		}
		if _, err := strconv.Atoi(value); err != nil {
			t.Errorf("driver.video.local_cameras = %q, want a count", value)
		}
	})

	t.Run("placed", func(t *testing.T) {
		registerJob(ctx, t, agent, "camera-gate", "5th-and-main")
		allocID := firstAllocation(ctx, t, agent, "camera-gate")
		alloc := waitAllocDone(ctx, t, agent, allocID)
		if alloc.NodeID != nodeID {
			t.Errorf("allocation node = %q, want %q", alloc.NodeID, nodeID)
		}
		if alloc.ClientStatus != "complete" {
			t.Errorf("allocation status = %q, want complete; task states %+v", alloc.ClientStatus, alloc.TaskStates)
		}
		devices := alloc.AllocatedResources.Tasks["reader"].Devices
		if len(devices) != 1 {
			t.Fatalf("allocated devices = %+v, want one", devices)
		}
		if d := devices[0]; d.Vendor != "ferry" || d.Type != "camera" || len(d.DeviceIDs) != 1 || d.DeviceIDs[0] != "gate-1" {
			t.Errorf("allocated device = %+v, want ferry/camera with id gate-1", d)
		}

		var stderr string
		path := "/v1/client/fs/logs/" + allocID + "?task=reader&type=stderr&plain=true&origin=start&offset=0"
		if err := agent.call(ctx, "GET", path, &stderr); err != nil {
			t.Fatalf("read task stderr: %v", err)
		}
		if want := "from '" + server.URL + "'"; !strings.Contains(stderr, want) {
			t.Errorf("task stderr does not contain %q, so ffmpeg did not open the URL from the device environment:\n%s", want, stderr)
		}
		t.Logf("task stderr:\n%s", stderr)
		if !strings.Contains(stderr, "frame=   10") && !strings.Contains(stderr, "frame=10") {
			t.Errorf("task stderr does not report 10 frames:\n%s", stderr)
		}
	})

	t.Run("no camera at location", func(t *testing.T) {
		registerJob(ctx, t, agent, "camera-nowhere", "nowhere")
		reason := waitBlocked(ctx, t, agent, "camera-nowhere")
		t.Logf("placement failure of camera-nowhere: %s", reason)
		if !strings.Contains(reason, "missing devices") {
			t.Errorf("filter reasons = %q, want \"missing devices\", the reason of a failed device constraint", reason)
		}
	})
}

// nodeDevices is the part of a Nomad node's JSON that lists its devices.
type nodeDevices struct {
	Status        string
	NodeResources struct {
		Devices []struct {
			Vendor, Type, Name string
			Instances          []struct {
				ID      string
				Healthy bool
			}
		}
	}
}

// waitCameraNode waits for the node to be ready with gate-1 healthy and
// returns its id.
func waitCameraNode(ctx context.Context, t *testing.T, agent *nomadAgent) string {
	t.Helper()
	var nodeID string
	err := cluster.Poll(ctx, "the node to report gate-1 healthy", func(ctx context.Context) (bool, error) {
		nodes, err := agent.api.Nodes(ctx)
		if err != nil || len(nodes) == 0 {
			return false, err
		}
		var node nodeDevices
		if err := agent.call(ctx, "GET", "/v1/node/"+nodes[0].ID, &node); err != nil {
			return false, err
		}
		nodeID = nodes[0].ID
		for _, group := range node.NodeResources.Devices {
			for _, instance := range group.Instances {
				if instance.ID == "gate-1" && instance.Healthy && node.Status == "ready" {
					return true, nil
				}
			}
		}
		return false, fmt.Errorf("node %s is %s with devices %+v", nodeID, node.Status, node.NodeResources.Devices)
	})
	if err != nil {
		t.Fatal(err)
	}
	return nodeID
}

// registerJob registers cameraJob with the given id and location.
func registerJob(ctx context.Context, t *testing.T, agent *nomadAgent, jobID, location string) {
	t.Helper()
	job, err := agent.api.ParseJob(ctx, fmt.Sprintf(cameraJob, jobID, readerImage, location), "")
	if err != nil {
		t.Fatalf("parse job %q: %v", jobID, err)
	}
	if _, err := agent.api.RegisterJob(ctx, job); err != nil {
		t.Fatalf("register job %q: %v", jobID, err)
	}
}

// firstAllocation waits for the job's first allocation and returns its id.
func firstAllocation(ctx context.Context, t *testing.T, agent *nomadAgent, jobID string) string {
	t.Helper()
	var allocID string
	err := cluster.Poll(ctx, "an allocation of "+jobID, func(ctx context.Context) (bool, error) {
		allocs, err := agent.api.JobAllocations(ctx, jobID)
		if err != nil || len(allocs) == 0 {
			return false, err
		}
		allocID = allocs[0].ID
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return allocID
}

// allocation is the part of a Nomad allocation's JSON that the test reads.
type allocation struct {
	NodeID             string
	ClientStatus       string
	TaskStates         map[string]cluster.TaskState
	AllocatedResources struct {
		Tasks map[string]struct {
			Devices []struct {
				Vendor, Type, Name string
				DeviceIDs          []string
			}
		}
	}
}

func waitAllocDone(ctx context.Context, t *testing.T, agent *nomadAgent, allocID string) allocation {
	t.Helper()
	var alloc allocation
	err := cluster.Poll(ctx, "allocation "+allocID+" to finish", func(ctx context.Context) (bool, error) {
		if err := agent.call(ctx, "GET", "/v1/allocation/"+allocID, &alloc); err != nil {
			return false, err
		}
		return alloc.ClientStatus == "complete" || alloc.ClientStatus == "failed", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return alloc
}

// evaluation is the part of a Nomad evaluation's JSON that the test reads.
type evaluation struct {
	Status         string
	FailedTGAllocs map[string]struct {
		NodesEvaluated     int
		ConstraintFiltered map[string]int
	}
}

// waitBlocked waits for the job to have a blocked evaluation and returns
// the constraint filter reasons of its failed placement.
func waitBlocked(ctx context.Context, t *testing.T, agent *nomadAgent, jobID string) string {
	t.Helper()
	var reasons []string
	err := cluster.Poll(ctx, "a blocked evaluation of "+jobID, func(ctx context.Context) (bool, error) {
		var evals []evaluation
		if err := agent.call(ctx, "GET", "/v1/job/"+jobID+"/evaluations", &evals); err != nil {
			return false, err
		}
		blocked := false
		reasons = reasons[:0]
		for _, eval := range evals {
			blocked = blocked || eval.Status == "blocked"
			for _, failed := range eval.FailedTGAllocs {
				for reason, count := range failed.ConstraintFiltered {
					reasons = append(reasons, fmt.Sprintf("%s (%d)", reason, count))
				}
			}
		}
		return blocked && len(reasons) > 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	allocs, err := agent.api.JobAllocations(ctx, jobID)
	if err != nil {
		t.Fatalf("allocations of %q: %v", jobID, err)
	}
	if len(allocs) != 0 {
		t.Errorf("job %q has %d allocations, want none", jobID, len(allocs))
	}
	return strings.Join(reasons, ", ")
}
