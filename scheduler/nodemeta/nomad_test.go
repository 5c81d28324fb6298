package nodemeta

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/hashicorp/nomad/api"
)

// devAgentConfig keeps the dev agent on free loopback ports, away from any
// Consul or Vault on the machine, and skips the cloud metadata
// fingerprinters, which fail on machines without a metadata service.
const devAgentConfig = `
name      = "nodemeta-test"
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

// startNomad runs `nomad agent -dev` on loopback until the test ends. It
// returns an API client, the HTTP address for the nomad CLI and the path of
// the agent's log.
func startNomad(t *testing.T) (*api.Client, string, string) {
	t.Helper()
	bin, err := cluster.FindNomad()
	if err != nil {
		// No registry serves Nomad, so this is the one kind of test that
		// skips, under CI=true too.
		t.Skipf("skipped the Nomad metadata test: %v", err)
	}

	ports := freePorts(t, 3)
	dir := t.TempDir()
	configPath := filepath.Join(dir, "agent.hcl")
	config := fmt.Sprintf(devAgentConfig, ports[0], ports[1], ports[2])
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "nomad.log")
	logFile, err := os.Create(logPath)
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

	addr := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatalf("nomad client: %v", err)
	}
	return client, addr, logPath
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// poll calls check every 100ms until it returns nil or the timeout ends.
// The test polls because a Nomad client sends dynamic metadata to the
// servers in batches, up to 10s late (Nomad's api/node_meta.go).
func poll(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not done within %s: %v", what, timeout, err)
		case <-ticker.C:
		}
	}
}

func TestApplyNomadAgent(t *testing.T) {
	client, addr, logPath := startNomad(t)
	var node Node
	poll(t, 60*time.Second, "nomad client node ready", func() error {
		nodes, err := ReadNodes(context.Background(), client)
		if err != nil {
			return err
		}
		if len(nodes) != 1 {
			return fmt.Errorf("%d nodes registered, want 1", len(nodes))
		}
		node = nodes[0]
		return nil
	})

	holdings := catalog.Holdings{node.Name: {Site: "downtown", Cameras: []string{"cam-b", "cam-a"}}}
	changes := Plan(holdings, []Node{node})
	if len(changes) != 1 {
		t.Fatalf("Plan returned %d changes, want 1", len(changes))
	}
	if err := Apply(context.Background(), client, changes); err != nil {
		t.Fatalf("Apply: %v\nnomad log: %s", err, logPath)
	}

	poll(t, 30*time.Second, "metadata in nomad node status", func() error {
		meta, err := nodeStatusMeta(addr, node.ID)
		if err != nil {
			return err
		}
		if meta[KeyCameras] != "cam-a,cam-b" || meta[KeySite] != "downtown" {
			return fmt.Errorf("meta %s=%q %s=%q", KeyCameras, meta[KeyCameras], KeySite, meta[KeySite])
		}
		return nil
	})

	again, err := Sync(context.Background(), client, holdings)
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("Sync after Apply made %d changes, want none", len(again))
	}

	removed, err := Sync(context.Background(), client, catalog.Holdings{})
	if err != nil {
		t.Fatalf("Sync removal: %v", err)
	}
	if len(removed) != 1 {
		t.Errorf("Sync removal made %d changes, want 1", len(removed))
	}
	poll(t, 30*time.Second, "metadata removed from nomad node status", func() error {
		meta, err := nodeStatusMeta(addr, node.ID)
		if err != nil {
			return err
		}
		if _, ok := meta[KeyCameras]; ok {
			return fmt.Errorf("%s still set to %q", KeyCameras, meta[KeyCameras])
		}
		return nil
	})
}

// nodeStatusMeta runs `nomad node status -json` and returns the node's
// metadata as the servers hold it.
func nodeStatusMeta(addr, nodeID string) (map[string]string, error) {
	bin, err := cluster.FindNomad()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "node", "status", "-json", nodeID)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+addr)
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("nomad node status: %w", err)
	}
	var node struct{ Meta map[string]string }
	if err := json.Unmarshal(out, &node); err != nil {
		return nil, fmt.Errorf("decode nomad node status -json: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return node.Meta, nil
}
