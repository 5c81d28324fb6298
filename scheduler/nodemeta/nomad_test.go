package nodemeta

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/internal/nomadtest"
	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/hashicorp/nomad/api"
)

// startNomad runs a Nomad dev agent until the test ends. It returns an API
// client, the HTTP address for the nomad CLI and the path of the agent's
// log.
func startNomad(t *testing.T) (*api.Client, string, string) {
	t.Helper()
	agent := nomadtest.Start(t, "nodemeta-test")
	return agent.Client, agent.Addr, agent.LogPath
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
