package service

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// nomadAgentConfig keeps the dev agent on free loopback ports, away from
// any Consul on the machine, and skips the cloud fingerprinters, which fail
// on machines without a metadata service.
const nomadAgentConfig = `
name      = "service-test"
bind_addr = "127.0.0.1"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
consul {
  client_auto_join = false
  server_auto_join = false
  auto_advertise   = false
}
client {
  network_interface = "lo"
  options {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"
  }
}
`

// startNomadAgent runs `nomad agent -dev` until the test ends and returns
// a client for it.
func startNomadAgent(t *testing.T) *api.Client {
	t.Helper()
	bin, err := cluster.FindNomad()
	if err != nil {
		// No package registry serves this Nomad build, so this is the one
		// test that skips when the binary is absent.
		t.Skipf("skipped the Nomad agent test: %v", err)
	}

	var ports [3]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	dir := t.TempDir()
	configPath := filepath.Join(dir, "agent.hcl")
	config := fmt.Sprintf(nomadAgentConfig, ports[0], ports[1], ports[2])
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "nomad.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "agent", "-dev", "-bind", "127.0.0.1", "-config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel kills the agent if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	client, err := api.NewClient(&api.Config{Address: "http://127.0.0.1:" + strconv.Itoa(ports[0])})
	if err != nil {
		t.Fatalf("nomad client: %v", err)
	}
	return client
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
