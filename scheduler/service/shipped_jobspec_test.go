package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// shippedPerCameraJob is the template jobspec that ferry ships for
// operators, relative to this package.
const shippedPerCameraJob = "../../jobspecs/motion-per-camera.nomad.hcl"

// publishCameras runs one registrar sync for node at site, with one
// recording of each camera, as the registrar on that node would.
func publishCameras(t *testing.T, agent *consultest.Agent, node, site string, cameras ...string) {
	t.Helper()
	root := t.TempDir()
	for _, camera := range cameras {
		dir := filepath.Join(root, camera)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "a.avi"), []byte("RIFF\x10\x00\x00\x00AVI LIST"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := registrar.Config{Node: node, Site: site, Roots: []string{root}, ConsulAddr: agent.HTTPAddr}
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

// buildScheduler builds the ferry-scheduler command into a temporary
// folder and returns its path.
func buildScheduler(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found in PATH, needed to build ferry-scheduler: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ferry-scheduler")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/ferry-video/ferry/scheduler/cmd/ferry-scheduler").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ferry-scheduler: %v\n%s", err, out)
	}
	return bin
}

// runPlanCommand runs `ferry-scheduler plan` on the shipped jobspec and
// returns its standard output.
func runPlanCommand(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	args = append([]string{"plan"}, append(args, shippedPerCameraJob)...)
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ferry-scheduler %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	t.Logf("$ ferry-scheduler %s\n%s", strings.Join(args, " "), out)
	return out
}

// waitForNomadNode returns the name of the dev agent's one client node
// once it is registered.
func waitForNomadNode(t *testing.T, client *api.Client) string {
	t.Helper()
	var name string
	pollNomad(t, "nomad client node ready", func() error {
		nodes, _, err := (&NomadCluster{Client: client}).Nodes(context.Background())
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

func TestShippedPerCameraJobPlan(t *testing.T) {
	client := startNomadAgent(t)
	agent := consultest.Start(t)
	node := waitForNomadNode(t, client)

	publishCameras(t, agent, node, "downtown", "north-gate", "south-gate")
	// A camera at another site, which the shipped selector leaves out.
	publishCameras(t, agent, "edge-harbour", "harbour", "harbour-quay")
	bin := buildScheduler(t)
	flags := []string{"-consul-addr", agent.HTTPAddr, "-nomad-addr", client.Address()}

	runPlanCommand(t, bin, flags...)
	var plan struct {
		WouldRegister bool `json:"would_register"`
		JobStatus
	}
	out := runPlanCommand(t, bin, append(flags, "-o", "json")...)
	if err := json.Unmarshal(out, &plan); err != nil {
		t.Fatalf("decode plan JSON %q: %v", out, err)
	}

	if plan.Job != "motion-per-camera" {
		t.Errorf("plan job %q, want motion-per-camera", plan.Job)
	}
	if !plan.WouldRegister {
		t.Error("plan would_register = false for a job Nomad does not have, want true")
	}
	if len(plan.Unplaced) != 0 {
		t.Errorf("plan unplaced %+v, want none", plan.Unplaced)
	}
	var cameras []string
	for _, p := range plan.Placements {
		cameras = append(cameras, p.CameraID)
		if p.NodeID != node {
			t.Errorf("camera %q placed on %q, want its holder %q", p.CameraID, p.NodeID, node)
		}
		if !p.Local {
			t.Errorf("camera %q placement local = false, want true", p.CameraID)
		}
	}
	slices.Sort(cameras)
	if want := []string{"north-gate", "south-gate"}; !slices.Equal(cameras, want) {
		t.Errorf("plan placed cameras %q, want %q", cameras, want)
	}
}

// TestShippedPerCameraJobGroups checks the per-camera groups that Expand
// makes from the shipped jobspec. Each is pinned to its camera's holder,
// and its task reads the camera from the group metadata.
func TestShippedPerCameraJobGroups(t *testing.T) {
	client := startNomadAgent(t)
	agent := consultest.Start(t)
	node := waitForNomadNode(t, client)
	publishCameras(t, agent, node, "downtown", "north-gate", "south-gate")

	hcl, err := os.ReadFile(shippedPerCameraJob)
	if err != nil {
		t.Fatal(err)
	}
	job, err := client.Jobs().ParseHCL(string(hcl), true)
	if err != nil {
		t.Fatalf("parse %s: %v", shippedPerCameraJob, err)
	}
	source := &ConsulCatalog{Client: agent.Client(t), Service: "camera-storage", KVPrefix: "ferry/storage"}
	cat, _, err := source.Read(context.Background(), 0)
	if err != nil {
		t.Fatalf("read catalog: %v", err)
	}
	_, nodes, err := (&NomadCluster{Client: client}).Nodes(context.Background())
	if err != nil {
		t.Fatalf("read nomad nodes: %v", err)
	}
	res := mustExpand(t, job, cat, nodes)

	groups := expandedGroups(res.Job)
	if len(groups) != 2 {
		t.Fatalf("expanded job has %d per-camera groups, want 2", len(groups))
	}
	for _, camera := range []string{"north-gate", "south-gate"} {
		t.Run(camera, func(t *testing.T) {
			checkPinnedGroup(t, groups[camera], camera, node)
			checkMotionTask(t, groups[camera])
		})
	}
}

// checkMotionTask checks that the group's motion task takes its camera
// from the group metadata, which Nomad interpolates when it starts the task.
func checkMotionTask(t *testing.T, tg *api.TaskGroup) {
	t.Helper()
	if tg == nil || len(tg.Tasks) != 1 {
		t.Fatalf("group %+v, want one task", tg)
	}
	task := tg.Tasks[0]
	if task.Driver != "video" {
		t.Errorf("task driver %q, want video", task.Driver)
	}
	if got := fmt.Sprint(task.Config["image"]); got != "ferry/motion-detect:0.1" {
		t.Errorf("task image %q, want ferry/motion-detect:0.1", got)
	}
	if got := fmt.Sprint(task.Config["cameras"]); got != "[${NOMAD_META_ferry.camera}]" {
		t.Errorf("task cameras %s, want [${NOMAD_META_ferry.camera}]", got)
	}
	if got := fmt.Sprint(task.Config["args"]); got != "[/recordings/${NOMAD_META_ferry.camera}]" {
		t.Errorf("task args %s, want [/recordings/${NOMAD_META_ferry.camera}]", got)
	}
}
