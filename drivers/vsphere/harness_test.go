package vsphere

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

var (
	pluginBuild     sync.Once
	pluginBuildPath string
	pluginBuildErr  error
)

// TestMain removes the plugin binary that harness tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if pluginBuildPath != "" {
		os.RemoveAll(filepath.Dir(pluginBuildPath))
	}
	os.Exit(code)
}

// pluginBinary builds the vsphere plugin once per test run.
func pluginBinary(t *testing.T) string {
	t.Helper()
	pluginBuild.Do(func() {
		dir, err := os.MkdirTemp("", "vsphere-plugin")
		if err != nil {
			pluginBuildErr = err
			return
		}
		pluginBuildPath = filepath.Join(dir, PluginName)
		out, err := exec.Command("go", "build", "-o", pluginBuildPath, "github.com/ferry-video/ferry/plugins/cmd/vsphere").CombinedOutput()
		if err != nil {
			pluginBuildErr = fmt.Errorf("build vsphere plugin: %v: %s", err, out)
		}
	})
	if pluginBuildErr != nil {
		t.Fatal(pluginBuildErr)
	}
	return pluginBuildPath
}

// launchPlugin starts the plugin binary and configures it for e.
func launchPlugin(t *testing.T, e *simEnv) (*harness.Plugin, []byte) {
	t.Helper()
	p, err := harness.Launch(pluginBinary(t), nil, nil)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(p.Close)
	cfg := e.pluginConfig()
	agentHCL := []byte(fmt.Sprintf("url = %q\nusername = %q\npassword_file = %q\ncluster = %q\n", e.url, cfg.Username, cfg.PasswordFile, cfg.Cluster))
	configure(t, p, agentHCL)
	return p, agentHCL
}

func configure(t *testing.T, p *harness.Plugin, agentHCL []byte) {
	t.Helper()
	if err := p.SetConfigHCL(testContext(t), agentHCL, "agent.hcl", &plugins.AgentConfig{}); err != nil {
		t.Fatalf("SetConfigHCL: %v", err)
	}
}

func startThroughHarness(t *testing.T, p *harness.Plugin, taskHCL string) (*plugins.TaskConfig, *plugins.TaskHandle) {
	t.Helper()
	ctx := testContext(t)
	alloc, err := harness.NewAllocDir(t.TempDir(), "analytics")
	if err != nil {
		t.Fatalf("NewAllocDir: %v", err)
	}
	t.Cleanup(alloc.Close)
	data, err := p.EncodeTaskConfig(ctx, []byte(taskHCL), "task.hcl")
	if err != nil {
		t.Fatalf("EncodeTaskConfig: %v", err)
	}
	cfg := alloc.TaskConfig(data)
	cfg.NodeID = "node-harness"
	handle, _, err := p.Driver.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), cfg.ID, true) })
	return cfg, handle
}

func TestHarnessFingerprint(t *testing.T) {
	e := newSim(t)
	p, _ := launchPlugin(t, e)
	stream, err := p.Driver.Fingerprint(testContext(t))
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	fp, err := stream.Recv()
	if err != nil {
		t.Fatalf("Recv: %v", err)
	}
	if fp.Health != plugins.HealthHealthy {
		t.Fatalf("health = %v (%s), want healthy", fp.Health, fp.Description)
	}
	for _, name := range []string{attrVersion, attrDatacenter, attrCPUFree, attrMemoryFree} {
		if _, ok := fp.Attributes[name]; !ok {
			t.Errorf("attribute %s missing", name)
		}
	}
}

func TestHarnessLifecycleAndRecover(t *testing.T) {
	e := newSim(t)
	p, agentHCL := launchPlugin(t, e)
	cfg, handle := startThroughHarness(t, p, `template = "`+testTemplate+`"`)
	ctx := testContext(t)

	status, err := p.Driver.InspectTask(ctx, cfg.ID)
	if err != nil || status.State != plugins.TaskStateRunning {
		t.Fatalf("InspectTask = %+v, %v, want running", status, err)
	}
	vmID := status.Attributes["vm_id"]
	stats, err := p.Driver.TaskStats(ctx, cfg.ID, time.Second)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	if _, err := stats.Recv(); err != nil {
		t.Errorf("TaskStats Recv: %v", err)
	}
	err = p.Driver.SignalTask(ctx, cfg.ID, "SIGUSR1")
	if err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("SignalTask(SIGUSR1) = %v, want not supported", err)
	}

	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := p.Relaunch(); err != nil {
		t.Fatalf("Relaunch: %v", err)
	}
	configure(t, p, agentHCL)
	if err := p.Driver.RecoverTask(ctx, handle); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	status, err = p.Driver.InspectTask(ctx, cfg.ID)
	if err != nil || status.Attributes["vm_id"] != vmID {
		t.Fatalf("InspectTask after recover = %+v, %v, want vm_id %q", status, err, vmID)
	}

	vm := object.NewVirtualMachine(e.client.Client, types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID})
	mustTask(t, vm.PowerOff)
	res, err := p.Driver.WaitTask(ctx, cfg.ID)
	if err != nil || res.ExitCode != 0 || res.Err != "" {
		t.Fatalf("WaitTask = %+v, %v, want exit 0", res, err)
	}
	if err := p.Driver.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if e.vmExists(vmID) {
		t.Errorf("VM %q exists after DestroyTask", vmID)
	}
}

func TestHarnessStopWithoutTools(t *testing.T) {
	e := newSim(t)
	p, _ := launchPlugin(t, e)
	cfg, _ := startThroughHarness(t, p, `template = "`+testTemplate+`"`)
	ctx := testContext(t)

	// vcsim VMs that are not container-backed report no running Tools, so
	// the guest cannot take the shutdown and the driver powers off.
	if err := p.Driver.StopTask(ctx, cfg.ID, 10*time.Second, "SIGTERM"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	res, err := p.Driver.WaitTask(ctx, cfg.ID)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("WaitTask = %+v, %v", res, err)
	}
	status, _ := p.Driver.InspectTask(ctx, cfg.ID)
	if status.State != plugins.TaskStateExited {
		t.Errorf("state after stop = %v, want exited", status.State)
	}
}

func TestHarnessStartErrors(t *testing.T) {
	e := newSim(t)
	p, _ := launchPlugin(t, e)
	ctx := testContext(t)
	alloc, err := harness.NewAllocDir(t.TempDir(), "analytics")
	if err != nil {
		t.Fatal(err)
	}
	defer alloc.Close()
	data, err := p.EncodeTaskConfig(ctx, []byte(`template = "missing"`), "task.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Driver.StartTask(ctx, alloc.TaskConfig(data))
	if err == nil || !strings.Contains(err.Error(), `template "missing" not found`) {
		t.Errorf("StartTask = %v, want template not found", err)
	}
	data, err = p.EncodeTaskConfig(ctx, []byte(`cpus = 2`), "task.hcl")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Driver.StartTask(ctx, alloc.TaskConfig(data))
	if err == nil || !strings.Contains(err.Error(), "missing template or library_item") {
		t.Errorf("StartTask without template = %v, want missing template or library_item", err)
	}
}
