package video_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/drivers/video"
	"github.com/ferry-video/ferry/plugins"
)

var pauseImageOnce sync.Once
var pauseImageErr error

// ensurePauseImage builds the pause image once per test run. The script
// leaves an up-to-date image alone.
func ensurePauseImage(t *testing.T) {
	t.Helper()
	pauseImageOnce.Do(func() {
		pauseImageErr = run(conformance.repoRoot, "drivers/video/pause/build-image.sh", video.PauseImage)
	})
	if pauseImageErr != nil {
		t.Fatalf("build %s: %v", video.PauseImage, pauseImageErr)
	}
}

// pauseContainerRunning reports whether the allocation's pause container
// exists, and fails the test if it exists but is stopped.
func pauseContainerRunning(t *testing.T, allocID string) bool {
	t.Helper()
	info, err := conformance.docker.ContainerInspect(context.Background(), "ferry-pause-"+allocID)
	if client.IsErrNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("inspect pause container: %v", err)
	}
	if !info.State.Running {
		t.Fatalf("pause container %s is %s, want running", info.ID, info.State.Status)
	}
	return true
}

func TestConformanceGroupNetwork(t *testing.T) {
	ensurePauseImage(t)
	p := launchVideo(t)
	if !p.caps.MustCreateNetwork {
		t.Fatal("capabilities: MustCreateNetwork = false, want true")
	}
	server, serverCfg := p.newTask(t, "httpd", shellHCL(httpdScript)+"ports = [\"http\"]\n")
	allocID := server.AllocID
	ctx := testContext(t, 3*time.Minute)
	t.Cleanup(func() { p.Driver.DestroyNetwork(context.Background(), allocID, nil) })

	spec, created, err := p.Driver.CreateNetwork(ctx, allocID, &plugins.NetworkCreateRequest{Hostname: "gate"})
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	if !created {
		t.Error("first CreateNetwork created = false, want true")
	}
	if spec.Mode != plugins.NetIsolationGroup || spec.Labels["docker_sandbox_container_id"] == "" {
		t.Errorf("spec = %+v, want group mode with the pause container id label", spec)
	}
	if spec.Labels["docker_sandbox_hostname"] != "gate" {
		t.Errorf("hostname label = %q, want gate", spec.Labels["docker_sandbox_hostname"])
	}
	if _, err := os.Stat(spec.Path); err != nil {
		t.Fatalf("namespace path: %v", err)
	}

	// Nomad hands the tasks the spec with the group's hosts config.
	groupSpec := *spec
	groupSpec.Hosts = &plugins.HostsConfig{Hostname: "gate", Address: "172.26.64.7"}
	serverCfg.NetIsolation = &groupSpec
	serverCfg.Resources.Ports = []plugins.PortMapping{{Label: "http", Value: freePort(t), To: 8080, HostIP: "127.0.0.1"}}
	_, network, err := p.Driver.StartTask(ctx, serverCfg)
	if err != nil {
		t.Fatalf("StartTask of the server: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), serverCfg.ID, true) })
	waitLog(t, server.Stdout, "ready")
	checkGroupOverride(t, network)

	// A second task of the group reaches the first on the shared loopback.
	clientAlloc, clientCfg := p.newTask(t, "client", shellHCL("wget -q -O - http://127.0.0.1:8080/index.html"))
	clientCfg.AllocID = allocID
	clientCfg.NetIsolation = &groupSpec
	if _, _, err := p.Driver.StartTask(ctx, clientCfg); err != nil {
		t.Fatalf("StartTask of the client: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), clientCfg.ID, true) })
	if result := waitExit(t, p, clientCfg.ID, time.Minute); result.ExitCode != 0 {
		t.Errorf("client exit code = %d, want 0", result.ExitCode)
	}
	waitLog(t, clientAlloc.Stdout, "hello-ferry")

	checkNetworkRecovery(t, p, allocID, spec)

	if err := p.Driver.DestroyTask(ctx, serverCfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if err := p.Driver.DestroyNetwork(ctx, allocID, spec); err != nil {
		t.Fatalf("DestroyNetwork: %v", err)
	}
	if pauseContainerRunning(t, allocID) {
		t.Error("pause container still exists after DestroyNetwork")
	}
	if err := p.Driver.DestroyNetwork(ctx, allocID, spec); err != nil {
		t.Errorf("second DestroyNetwork: %v", err)
	}
}

func checkGroupOverride(t *testing.T, network *plugins.NetworkOverride) {
	t.Helper()
	if network == nil {
		t.Fatal("StartTask returned no network override")
	}
	if network.Addr != "172.26.64.7" {
		t.Errorf("address = %q, want the group address 172.26.64.7", network.Addr)
	}
	if network.PortMap["http"] != 8080 {
		t.Errorf("port map = %v, want http:8080", network.PortMap)
	}
	if network.AutoAdvertise {
		t.Error("AutoAdvertise = true, want false in a group network")
	}
}

// checkNetworkRecovery restarts the plugin and checks that CreateNetwork
// returns the running network again without creating one.
func checkNetworkRecovery(t *testing.T, p *videoPlugin, allocID string, spec *plugins.NetworkIsolation) {
	t.Helper()
	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := p.Relaunch(); err != nil {
		t.Fatalf("Relaunch: %v", err)
	}
	p.configure(t)

	again, created, err := p.Driver.CreateNetwork(testContext(t, time.Minute), allocID, &plugins.NetworkCreateRequest{Hostname: "gate"})
	if err != nil {
		t.Fatalf("CreateNetwork after restart: %v", err)
	}
	if created {
		t.Error("CreateNetwork after restart created = true, want false")
	}
	if again.Path != spec.Path || again.Labels["docker_sandbox_container_id"] != spec.Labels["docker_sandbox_container_id"] {
		t.Errorf("spec after restart = %+v, want %+v", again, spec)
	}
}

func TestConformanceGroupNetworkPauseKilled(t *testing.T) {
	ensurePauseImage(t)
	p := launchVideo(t)
	_, cfg := p.newTask(t, "restarted", shellHCL("sleep 30"))
	allocID := cfg.AllocID
	ctx := testContext(t, 2*time.Minute)
	t.Cleanup(func() { p.Driver.DestroyNetwork(context.Background(), allocID, nil) })

	spec, _, err := p.Driver.CreateNetwork(ctx, allocID, &plugins.NetworkCreateRequest{Hostname: "gate"})
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	if err := conformance.docker.ContainerKill(ctx, "ferry-pause-"+allocID, "KILL"); err != nil {
		t.Fatalf("kill pause container: %v", err)
	}

	cfg.NetIsolation = spec
	_, _, err = p.Driver.StartTask(ctx, cfg)
	if err == nil {
		p.Driver.DestroyTask(context.Background(), cfg.ID, true)
		t.Fatal("StartTask after the pause container was killed succeeded, want an error")
	}
	for _, part := range []string{"group network of alloc", "ferry-pause-" + allocID, "exited", "reschedule"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("StartTask error %q does not contain %q", err, part)
		}
	}
	if plugins.IsRecoverable(err) {
		t.Errorf("StartTask error is recoverable, want it unrecoverable: %v", err)
	}
}
