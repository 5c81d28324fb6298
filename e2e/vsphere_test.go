package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/vcsim"
)

// vsphereJob runs one VM cloned from the simulator's template. The VM's
// container runs sleep, so the task runs until it is stopped.
const vsphereJob = `job "vsphere-exec" {
  type = "service"

  group "guest" {
    task "guest" {
      driver = "vsphere"

      config {
        template  = "` + vcsim.TemplateName + `"
        stop_mode = "poweroff"
      }

      resources {
        cpu    = 500
        memory = 128
      }
    }
  }
}
`

// startDatacenterCluster starts a simulated vCenter and a Nomad cluster
// whose only client, dc-1, loads the vsphere plugin, and stops both when
// the test ends.
func startDatacenterCluster(t *testing.T, ctx context.Context) (*cluster.Cluster, *vcsim.Datacenter) {
	t.Helper()
	dir := t.TempDir()
	plugin := os.Getenv("VSPHERE_PLUGIN")
	if plugin == "" {
		plugin = filepath.Join(dir, "vsphere")
		if out, err := goBuild(ctx, plugin, "./plugins/cmd/vsphere"); err != nil {
			t.Fatalf("build vsphere plugin: %v: %s", err, out)
		}
	}
	dc, err := vcsim.StartDatacenter(ctx, vcsim.DatacenterConfig{Root: repoRoot, Dir: filepath.Join(dir, "vcsim"), Owner: "e2e-" + filepath.Base(filepath.Dir(dir))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dc.Close(); err != nil {
			t.Error(err)
		}
	})

	c, err := cluster.Start(ctx, cluster.Config{
		Nomad: testCluster.Nomad, VideoPlugin: videoPlugin, Dir: filepath.Join(dir, "cluster"),
		Clients: []cluster.ClientSpec{dc.ClientSpec("dc-1", plugin)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	if err := vcsim.WaitDriverHealthy(ctx, c, "dc-1", "vsphere"); err != nil {
		t.Fatal(err)
	}
	return c, dc
}

// runVsphereJob runs vsphereJob and returns its allocation once it runs.
func runVsphereJob(t *testing.T, ctx context.Context, c *cluster.Cluster) string {
	t.Helper()
	jobspec := filepath.Join(t.TempDir(), "vsphere-exec.nomad.hcl")
	if err := os.WriteFile(jobspec, []byte(vsphereJob), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(ctx, "job", "run", "-detach", jobspec); err != nil {
		t.Fatal(err)
	}
	var allocID string
	err := cluster.Poll(ctx, "an allocation of vsphere-exec", func(ctx context.Context) (bool, error) {
		allocs, err := c.API.JobAllocations(ctx, "vsphere-exec")
		if len(allocs) > 0 {
			allocID = allocs[0].ID
		}
		return allocID != "", err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitAllocRunning(ctx, allocID); err != nil {
		t.Fatal(err)
	}
	return allocID
}

// execGreeting runs a command in the guest with nomad alloc exec and checks
// its output.
func execGreeting(t *testing.T, ctx context.Context, c *cluster.Cluster, allocID string) {
	t.Helper()
	out, err := c.Run(ctx, "alloc", "exec", "-i=false", "-t=false", "-task", "guest", allocID,
		"sh", "-c", "echo hello from $VMX_GUESTINFO_NOMAD_TASK_NAME")
	if err != nil {
		t.Fatalf("nomad alloc exec: %v", err)
	}
	if want := "hello from guest\n"; out != want {
		t.Errorf("nomad alloc exec output = %q, want %q", out, want)
	}
}

// stopVsphereJob stops the job and waits until vcsim has no VM and no
// container of it.
func stopVsphereJob(t *testing.T, ctx context.Context, c *cluster.Cluster, dc *vcsim.Datacenter) {
	t.Helper()
	if _, err := c.Run(ctx, "job", "stop", "-detach", "vsphere-exec"); err != nil {
		t.Fatal(err)
	}
	err := cluster.Poll(ctx, "the task's VM to be destroyed", func(ctx context.Context) (bool, error) {
		vms, err := dc.VMs(ctx, "guest-")
		return len(vms) == 0, err
	})
	if err != nil {
		t.Error(err)
	}
	left, err := dc.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("containers of the VM left after nomad job stop: %s", strings.Join(left, " "))
	}
}

func TestVsphereJobExecAndStop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c, dc := startDatacenterCluster(t, ctx)
	allocID := runVsphereJob(t, ctx, c)

	vms, err := dc.VMs(ctx, "guest-")
	if err != nil {
		t.Fatal(err)
	}
	if len(vms) != 1 || vms[0].PowerState != "poweredOn" {
		t.Errorf("VMs of the task in vcsim = %+v, want one powered on", vms)
	}
	execGreeting(t, ctx, c, allocID)
	stopVsphereJob(t, ctx, c, dc)
}

// TestVsphereOutageKeepsTask takes vcsim down while the task runs. The
// node's vsphere driver must turn unhealthy and back, the allocation must
// keep running, and after the outage exec and stop must work, which needs
// a new vCenter session and the task's power state watch.
func TestVsphereOutageKeepsTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c, dc := startDatacenterCluster(t, ctx)
	allocID := runVsphereJob(t, ctx, c)

	if err := dc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := vcsim.WaitDriverHealth(ctx, c, "dc-1", "vsphere", false, "is unreachable"); err != nil {
		t.Fatal(err)
	}
	alloc, err := c.API.Allocation(ctx, allocID)
	if err != nil {
		t.Fatal(err)
	}
	if alloc.ClientStatus != "running" {
		t.Errorf("allocation status during the outage = %q, want running; task events: %s", alloc.ClientStatus, alloc.EventSummary())
	}

	if err := dc.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := vcsim.WaitDriverHealthy(ctx, c, "dc-1", "vsphere"); err != nil {
		t.Fatal(err)
	}
	execGreeting(t, ctx, c, allocID)
	stopVsphereJob(t, ctx, c, dc)

	alloc, err = c.API.Allocation(ctx, allocID)
	if err != nil {
		t.Fatal(err)
	}
	if summary := alloc.EventSummary(); strings.Contains(summary, "Restarting") {
		t.Errorf("task restarted across the outage; task events: %s", summary)
	}
}
