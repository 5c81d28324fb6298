package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

const (
	bridgeJobID = "e2e-bridge"
	// cniPath is where Debian's containernetworking-plugins installs the
	// CNI plugins that Nomad's bridge mode runs.
	cniPath = "/usr/lib/cni"
	// bridgeClientHCL gives the test client a bridge and subnet of its
	// own, so that it leaves the default "nomad" bridge of other agents
	// on this machine alone.
	bridgeClientHCL = `cni_path              = "` + cniPath + `"
bridge_network_name   = "` + bridgeName + `"
bridge_network_subnet = "` + bridgeSubnet + `"
`
	bridgeName   = "ferrye2ebr0"
	bridgeSubnet = "172.26.80.0/24"
	pauseImage   = "ferry/pause:0.1"
)

// bridgeJob serves a page with busybox httpd on port 8080 of the group's
// network namespace and registers it in Nomad's service catalog twice: with
// the host address and mapped port, and with the driver's address and port.
var bridgeJob = fmt.Sprintf(`job %q {
  type = "service"

  group "web" {
    network {
      mode = "bridge"
      port "http" {
        to = 8080
      }
    }

    service {
      provider     = "nomad"
      name         = "e2e-bridge-host"
      port         = "http"
      address_mode = "host"
    }

    task "httpd" {
      driver = "video"

      config {
        image   = %q
        command = "/bin/sh"
        args    = ["-c", "/bin/busybox mkdir -p /www && echo hello-bridge > /www/index.html && exec /bin/busybox httpd -f -p 8080 -h /www"]
      }

      # Only a task's services may use the driver's address.
      service {
        provider     = "nomad"
        name         = "e2e-bridge-driver"
        port         = "http"
        address_mode = "driver"
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`, bridgeJobID, busyboxImage)

// nomadService is the part of a Nomad service registration the test reads.
type nomadService struct {
	Address string
	Port    int
	AllocID string
}

func TestBridgeNetworkGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	checkBridgeComponents(t, ctx)
	c := startBridgeCluster(t, ctx)

	jobFile := filepath.Join(t.TempDir(), "bridge.nomad.hcl")
	if err := os.WriteFile(jobFile, []byte(bridgeJob), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Run(ctx, "job", "run", "-detach", jobFile); err != nil {
		t.Fatalf("nomad job run: %v: %s", err, out)
	}
	t.Cleanup(func() { purgeJob(t, c, bridgeJobID) })

	host := waitNomadService(t, ctx, c, "e2e-bridge-host")
	if host.Address != "127.0.0.1" {
		t.Errorf("host service address = %q, want the client's 127.0.0.1", host.Address)
	}
	if got := fetchPage(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(host.Port))); !strings.Contains(got, "hello-bridge") {
		t.Errorf("page through the mapped host port %d = %q, want hello-bridge", host.Port, got)
	}

	driver := waitNomadService(t, ctx, c, "e2e-bridge-driver")
	if driver.Port != 8080 {
		t.Errorf("driver service port = %d, want the port inside the group 8080", driver.Port)
	}
	if !strings.HasPrefix(driver.Address, "172.26.80.") {
		t.Errorf("driver service address = %q, want one in the bridge subnet 172.26.80.0/24", driver.Address)
	}
	if got := fetchPage(t, ctx, net.JoinHostPort(driver.Address, "8080")); !strings.Contains(got, "hello-bridge") {
		t.Errorf("page from the group address %s = %q, want hello-bridge", driver.Address, got)
	}
	if n := pauseContainers(t, host.AllocID); n != 1 {
		t.Errorf("pause containers of the running alloc = %d, want 1", n)
	}

	// The restarted agent requests the network again from a new plugin process,
	// which must return the running one, and later destroys it through
	// that process.
	keep := func(hcl string) (string, error) { return hcl, nil }
	if err := c.RestartClient(ctx, "bridge-1", keep); err != nil {
		t.Fatalf("restart client: %v", err)
	}
	if got := fetchPage(t, ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(host.Port))); !strings.Contains(got, "hello-bridge") {
		t.Errorf("page after the client restart = %q, want hello-bridge", got)
	}
	if n := pauseContainers(t, host.AllocID); n != 1 {
		t.Errorf("pause containers after the client restart = %d, want 1", n)
	}

	if err := c.API.StopJob(ctx, bridgeJobID, false); err != nil {
		t.Fatalf("stop job: %v", err)
	}
	err := cluster.Poll(ctx, "the pause container to be removed", func(context.Context) (bool, error) {
		return pauseContainers(t, host.AllocID) == 0, nil
	})
	if err != nil {
		t.Errorf("after stopping the job: %v", err)
	}
}

// checkBridgeComponents fails the test when the CNI plugins or the pause
// image cannot be had, naming what to install.
func checkBridgeComponents(t *testing.T, ctx context.Context) {
	t.Helper()
	for _, plugin := range []string{"bridge", "portmap", "host-local", "firewall", "loopback"} {
		if _, err := os.Stat(filepath.Join(cniPath, plugin)); err != nil {
			t.Fatalf("CNI plugin %s not found in %s (install Debian's containernetworking-plugins): %v", plugin, cniPath, err)
		}
	}
	script := filepath.Join(repoRoot, "drivers", "video", "pause", "build-image.sh")
	if out, err := exec.CommandContext(ctx, script, pauseImage).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v: %s", pauseImage, err, out)
	}
}

func startBridgeCluster(t *testing.T, ctx context.Context) *cluster.Cluster {
	t.Helper()
	c, err := cluster.Start(ctx, cluster.Config{
		Nomad:       testCluster.Nomad,
		VideoPlugin: videoPlugin,
		Dir:         filepath.Join(t.TempDir(), "cluster"),
		Clients:     []cluster.ClientSpec{{Name: "bridge-1", ClientHCL: bridgeClientHCL}},
	})
	if err != nil {
		t.Fatalf("start cluster with CNI: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
		removeBridge(t)
	})
	return c
}

// removeBridge deletes the bridge and the forward rule that the test
// client's Nomad created, which outlive the agent.
func removeBridge(t *testing.T) {
	t.Helper()
	if exec.Command("ip", "link", "show", bridgeName).Run() == nil {
		if out, err := exec.Command("ip", "link", "delete", bridgeName).CombinedOutput(); err != nil {
			t.Errorf("delete bridge %s: %v: %s", bridgeName, err, out)
		}
	}
	rule := []string{"NOMAD-ADMIN", "-d", bridgeSubnet, "-o", bridgeName, "-j", "ACCEPT"}
	for exec.Command("iptables", append([]string{"-C"}, rule...)...).Run() == nil {
		if out, err := exec.Command("iptables", append([]string{"-D"}, rule...)...).CombinedOutput(); err != nil {
			t.Errorf("delete iptables rule %v: %v: %s", rule, err, out)
			return
		}
	}
}

func purgeJob(t *testing.T, c *cluster.Cluster, jobID string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.API.StopJob(ctx, jobID, true); err != nil {
		t.Errorf("purge job %q: %v", jobID, err)
	}
}

// waitNomadService waits until Nomad's service catalog has one
// registration of name and returns it.
func waitNomadService(t *testing.T, ctx context.Context, c *cluster.Cluster, name string) nomadService {
	t.Helper()
	var found []nomadService
	err := cluster.Poll(ctx, "service "+name+" in Nomad's catalog", func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.API.Address+"/v1/service/"+name, nil)
		if err != nil {
			return false, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, nil
		}
		found = nil
		if err := json.NewDecoder(resp.Body).Decode(&found); err != nil {
			return false, fmt.Errorf("decode service %s: %w", name, err)
		}
		return len(found) == 1, nil
	})
	if err != nil {
		t.Fatalf("%v (allocations: %s)", err, allocSummary(ctx, c, bridgeJobID))
	}
	return found[0]
}

func allocSummary(ctx context.Context, c *cluster.Cluster, jobID string) string {
	allocs, err := c.API.JobAllocations(ctx, jobID)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, a := range allocs {
		parts = append(parts, a.ID+" "+a.ClientStatus+": "+a.EventSummary())
	}
	return strings.Join(parts, "; ")
}

func fetchPage(t *testing.T, ctx context.Context, addr string) string {
	t.Helper()
	var body string
	err := cluster.Poll(ctx, "a page from "+addr, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/index.html", nil)
		if err != nil {
			return false, err
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		body = string(data)
		return err == nil && resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Errorf("%v (last body %q)", err, body)
	}
	return body
}

// pauseContainers counts the containers, running or not, that hold the
// group network of allocID.
func pauseContainers(t *testing.T, allocID string) int {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=com.ferry-video.network_alloc_id="+allocID).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	return len(strings.Fields(string(out)))
}
