package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/internal/consultest"
)

// discoveryJob is the job in testdata/motion-service-fast.nomad.hcl.
const discoveryJob = "e2e-motion-service"

// consulEnv is a Consul agent and a Nomad cluster that registers services
// in it.
type consulEnv struct {
	agent   *consultest.Agent
	consul  *api.Client
	nomad   *cluster.Cluster
	report  string
	jobFile string
}

// startConsulEnv starts a Consul agent and a cluster of its own, with the
// shared cluster's cameras, whose agents use that Consul agent.
func startConsulEnv(t *testing.T, ctx context.Context) *consulEnv {
	t.Helper()
	env := &consulEnv{jobFile: filepath.Join(repoRoot, "e2e", "testdata", "motion-service-fast.nomad.hcl")}
	env.agent = consultest.Start(t)
	env.consul = env.agent.Client(t)

	env.report = filepath.Join(t.TempDir(), "report")
	if out, err := goBuild(ctx, env.report, "./jobspecs/report"); err != nil {
		t.Fatalf("build report: %v: %s", err, out)
	}

	c, err := cluster.Start(ctx, cluster.Config{
		Nomad:       testCluster.Nomad,
		VideoPlugin: videoPlugin,
		Dir:         filepath.Join(t.TempDir(), "cluster"),
		ConsulAddr:  env.agent.HTTPAddr,
		Clients: []cluster.ClientSpec{
			{Name: "edge-1", Cameras: map[string][]string{"north-gate": {cameraRecordings[0]}}},
			{Name: "edge-2", Cameras: map[string][]string{"south-gate": {cameraRecordings[1]}}},
		},
	})
	if err != nil {
		t.Fatalf("start cluster with consul: %v", err)
	}
	env.nomad = c
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	})
	return env
}

// runJob runs a jobspec and purges the job when the test ends.
func (e *consulEnv) runJob(t *testing.T, ctx context.Context, jobID, jobspec string) {
	t.Helper()
	if out, err := e.nomad.Run(ctx, "job", "run", "-detach", jobspec); err != nil {
		t.Fatalf("nomad job run: %v: %s", err, out)
	}
	t.Cleanup(func() { e.purge(t, jobID) })
}

func (e *consulEnv) purge(t *testing.T, jobID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.nomad.API.StopJob(ctx, jobID, true); err != nil {
		t.Errorf("purge job %q: %v", jobID, err)
	}
}

// instance returns the camera's registered motion-detect instance with its
// checks, waiting until one is registered and its checks have status.
func (e *consulEnv) instance(ctx context.Context, camera, status string) (*api.ServiceEntry, error) {
	var found *api.ServiceEntry
	err := cluster.Poll(ctx, fmt.Sprintf("camera %s's check to be %s", camera, status), func(ctx context.Context) (bool, error) {
		entries, _, err := e.consul.Health().Service("motion-detect", "camera:"+camera, false, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil || len(entries) != 1 {
			return false, err
		}
		found = entries[0]
		return found.Checks.AggregatedStatus() == status, nil
	})
	return found, err
}

// serviceCount returns how many instances of motion-detect are registered.
func (e *consulEnv) serviceCount(ctx context.Context) (int, error) {
	services, _, err := e.consul.Catalog().Service("motion-detect", "", (&api.QueryOptions{}).WithContext(ctx))
	return len(services), err
}

// waitDeregistered waits until no instance of motion-detect is registered.
func (e *consulEnv) waitDeregistered(ctx context.Context) error {
	return cluster.Poll(ctx, "motion-detect to leave the Consul catalog", func(ctx context.Context) (bool, error) {
		n, err := e.serviceCount(ctx)
		return n == 0, err
	})
}

// waitDeployment waits for the job's latest deployment to succeed, because
// Nomad rejects scaling a job during a deployment.
func (e *consulEnv) waitDeployment(ctx context.Context, jobID string) error {
	var last cluster.Deployment
	err := cluster.Poll(ctx, "the deployment of "+jobID+" to succeed", func(ctx context.Context) (bool, error) {
		d, err := e.nomad.API.LatestDeployment(ctx, jobID)
		last = d
		return d.Status == "successful", err
	})
	if err != nil {
		return fmt.Errorf("%w (last status %q: %s)", err, last.Status, last.StatusDescription)
	}
	return nil
}

// groupAlloc returns the running allocation of a job's task group.
func (e *consulEnv) groupAlloc(ctx context.Context, jobID, group string) (cluster.Allocation, error) {
	var found cluster.Allocation
	err := cluster.Poll(ctx, "a running allocation of group "+group, func(ctx context.Context) (bool, error) {
		allocs, err := e.nomad.API.JobAllocations(ctx, jobID)
		if err != nil {
			return false, err
		}
		for _, a := range allocs {
			if a.TaskGroup == group && a.ClientStatus == "running" {
				found = a
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}

// runReport runs the report program and returns its decoded output and exit
// code.
func (e *consulEnv) runReport(t *testing.T, ctx context.Context, expect string) (reportOutput, int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.CommandContext(ctx, e.report, "-consul-addr", e.agent.HTTPAddr, "-tag", "site:downtown", "-expect", expect, "-o", out)
	stderr, err := cmd.CombinedOutput()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("run report: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("report wrote no output (exit code %d, stderr %q): %v", code, stderr, err)
	}
	t.Logf("report (exit code %d):\n%s", code, data)
	var rep reportOutput
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("decode report %s: %v", data, err)
	}
	return rep, code
}

// reportOutput is the part of the report program's JSON that tests read.
type reportOutput struct {
	Cameras []struct {
		Camera string `json:"camera"`
		Node   string `json:"node"`
	} `json:"cameras"`
	Missing []struct {
		Camera string `json:"camera"`
		Reason string `json:"reason"`
	} `json:"missing"`
}

func TestConsulDiscovery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*jobTimeout)
	defer cancel()
	env := startConsulEnv(t, ctx)

	t.Run("registration", func(t *testing.T) { testRegistration(t, ctx, env) })
	t.Run("shipped jobspec", func(t *testing.T) { testShippedService(t, ctx, env) })
	t.Run("bad input", func(t *testing.T) { testBadInput(t, ctx, env) })
}

func testRegistration(t *testing.T, ctx context.Context, env *consulEnv) {
	env.runJob(t, ctx, discoveryJob, env.jobFile)
	nodes := map[string]string{"north-gate": "edge-1", "south-gate": "edge-2"}

	for _, camera := range []string{"north-gate", "south-gate"} {
		t.Run("catalog "+camera, func(t *testing.T) {
			checkInstance(t, ctx, env, camera, nodes[camera], camera == "south-gate")
		})
	}
	t.Run("container kill", func(t *testing.T) { testContainerKill(t, ctx, env) })
	logOperatorView(t, ctx, env)

	t.Run("report all healthy", func(t *testing.T) {
		rep, code := env.runReport(t, ctx, "north-gate,south-gate")
		if code != 0 {
			t.Errorf("report exit code = %d, want 0", code)
		}
		var cameras []string
		for _, c := range rep.Cameras {
			cameras = append(cameras, c.Camera+"@"+c.Node)
		}
		slices.Sort(cameras)
		if want := []string{"north-gate@edge-1", "south-gate@edge-2"}; !slices.Equal(cameras, want) {
			t.Errorf("report cameras = %v, want %v", cameras, want)
		}
		if len(rep.Missing) != 0 {
			t.Errorf("report missing = %+v, want none", rep.Missing)
		}
	})

	t.Run("report names missing", func(t *testing.T) {
		if err := env.waitDeployment(ctx, discoveryJob); err != nil {
			t.Fatal(err)
		}
		if out, err := env.nomad.Run(ctx, "job", "scale", "-detach", discoveryJob, "south-gate", "0"); err != nil {
			t.Fatalf("nomad job scale: %v: %s", err, out)
		}
		err := cluster.Poll(ctx, "south-gate to leave the catalog", func(ctx context.Context) (bool, error) {
			entries, _, err := env.consul.Catalog().Service("motion-detect", "camera:south-gate", (&api.QueryOptions{}).WithContext(ctx))
			return len(entries) == 0, err
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, code := env.runReport(t, ctx, "north-gate,south-gate")
		if code != 2 {
			t.Errorf("report exit code = %d, want 2 (a camera is missing)", code)
		}
		if len(rep.Cameras) != 1 || rep.Cameras[0].Camera != "north-gate" {
			t.Errorf("report cameras = %+v, want only north-gate", rep.Cameras)
		}
		if len(rep.Missing) != 1 || rep.Missing[0].Camera != "south-gate" {
			t.Fatalf("report missing = %+v, want south-gate", rep.Missing)
		}
		if !strings.Contains(rep.Missing[0].Reason, "no instance") {
			t.Errorf("missing reason = %q, want it to say no instance is registered", rep.Missing[0].Reason)
		}
	})

	env.purge(t, discoveryJob)
	if err := env.waitDeregistered(ctx); err != nil {
		t.Error(err)
	}
}

// testShippedService runs jobspecs/motion-service.nomad.hcl as shipped, with
// its 10-second checks, and expects both cameras to register and pass.
func testShippedService(t *testing.T, ctx context.Context, env *consulEnv) {
	jobID := "motion-service"
	env.runJob(t, ctx, jobID, filepath.Join(repoRoot, "jobspecs", "motion-service.nomad.hcl"))
	nodes := map[string]string{"north-gate": "edge-1", "south-gate": "edge-2"}
	for _, camera := range []string{"north-gate", "south-gate"} {
		t.Run("catalog "+camera, func(t *testing.T) {
			checkInstance(t, ctx, env, camera, nodes[camera], false)
		})
	}
	env.purge(t, jobID)
	if err := env.waitDeregistered(ctx); err != nil {
		t.Error(err)
	}
}

// checkInstance checks the camera's registered instance: tags, passing
// check, and an address and port that serve GET /events.
func checkInstance(t *testing.T, ctx context.Context, env *consulEnv, camera, node string, driverMode bool) {
	entry, err := env.instance(ctx, camera, api.HealthPassing)
	if err != nil {
		t.Fatal(err)
	}
	svc := entry.Service
	for _, tag := range []string{"camera:" + camera, "site:downtown", "node:" + node} {
		if !slices.Contains(svc.Tags, tag) {
			t.Errorf("service tags = %v, want %q among them", svc.Tags, tag)
		}
	}
	t.Logf("camera %s registered at %s:%d", camera, svc.Address, svc.Port)

	// south-gate's task service uses address_mode = "driver": the
	// container's address and port 8080. north-gate's group service uses
	// the default mode, which for a group service is the host's address
	// (loopback here) and the port Nomad published on it.
	ip := net.ParseIP(svc.Address)
	if driverMode {
		if svc.Port != 8080 {
			t.Errorf("service port = %d, want the container port 8080", svc.Port)
		}
		if ip == nil || ip.IsLoopback() {
			t.Errorf("service address = %q, want the container's address", svc.Address)
		}
	} else {
		if svc.Port == 8080 || svc.Port <= 0 {
			t.Errorf("service port = %d, want the host port Nomad assigned", svc.Port)
		}
		if ip == nil || !ip.IsLoopback() {
			t.Errorf("service address = %q, want the host's loopback address", svc.Address)
		}
	}

	url := "http://" + net.JoinHostPort(svc.Address, strconv.Itoa(svc.Port)) + "/events"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Camera string `json:"camera"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK || body.Camera != camera {
		t.Errorf("GET %s = %d camera %q, want 200 camera %q", url, resp.StatusCode, body.Camera, camera)
	}
}

// testContainerKill kills north-gate's container and expects the check to
// go critical, Nomad to restart the task once and the check to pass again.
func testContainerKill(t *testing.T, ctx context.Context, env *consulEnv) {
	alloc, err := env.groupAlloc(ctx, discoveryJob, "north-gate")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, "docker", "ps", "-q", "--filter", "label=com.ferry-video.alloc_id="+alloc.ID).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	ids := strings.Fields(string(out))
	if len(ids) != 1 {
		t.Fatalf("found %d containers of allocation %s, want 1", len(ids), alloc.ID)
	}
	if out, err := exec.CommandContext(ctx, "docker", "kill", ids[0]).CombinedOutput(); err != nil {
		t.Fatalf("docker kill %s: %v: %s", ids[0], err, out)
	}

	if _, err := env.instance(ctx, "north-gate", api.HealthCritical); err != nil {
		t.Error(err)
	}
	err = cluster.Poll(ctx, "task motion to restart once", func(ctx context.Context) (bool, error) {
		a, err := env.nomad.API.Allocation(ctx, alloc.ID)
		state := a.TaskStates["motion"]
		return state.Restarts == 1 && state.State == "running", err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.instance(ctx, "north-gate", api.HealthPassing); err != nil {
		t.Error(err)
	}
	final, err := env.nomad.API.Allocation(ctx, alloc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := final.TaskStates["motion"].Restarts; got != 1 {
		t.Errorf("restarts = %d, want 1; events: %s", got, final.EventSummary())
	}
}

// logOperatorView logs what an operator's commands print about the job.
func logOperatorView(t *testing.T, ctx context.Context, env *consulEnv) {
	alloc, err := env.groupAlloc(ctx, discoveryJob, "north-gate")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"node", "status", "-verbose", alloc.NodeID},
		{"alloc", "status", alloc.ID},
	} {
		out, err := env.nomad.Run(ctx, args...)
		if err != nil {
			t.Errorf("nomad %s: %v", strings.Join(args, " "), err)
		}
		t.Logf("$ nomad %s\n%s", strings.Join(args, " "), out)
	}
	bin, err := consultest.Binary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "catalog", "services", "-tags", "-http-addr", env.agent.HTTPAddr).CombinedOutput()
	if err != nil {
		t.Errorf("consul catalog services: %v: %s", err, out)
	}
	t.Logf("$ consul catalog services -tags\n%s", out)
}
