package video_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// httpdScript serves a page with busybox httpd, which binds its port before
// it forks, so the page is reachable once "ready" is logged.
const httpdScript = "mkdir -p /www && echo hello-ferry > /www/index.html && /bin/busybox httpd -p 8080 -h /www && echo ready && exec sleep 300"

// freePort returns a TCP port on loopback that nothing listens on.
func freePort(t *testing.T) int32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

func getPage(t *testing.T, addr string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + addr + "/index.html")
	if err != nil {
		t.Fatalf("GET from %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body from %s: %v", addr, err)
	}
	return string(body)
}

func TestConformanceNetworkBridge(t *testing.T) {
	p := launchVideo(t)
	alloc, cfg := p.newTask(t, "httpd", shellHCL(httpdScript)+"ports = [\"http\"]\n")
	hostPort := freePort(t)
	cfg.Resources.Ports = []plugins.PortMapping{
		{Label: "http", Value: hostPort, To: 8080, HostIP: "127.0.0.1"},
		{Label: "unused", Value: hostPort + 1},
	}

	_, network, err := p.Driver.StartTask(testContext(t, 3*time.Minute), cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), cfg.ID, true) })
	waitLog(t, alloc.Stdout, "ready")

	if network == nil {
		t.Fatalf("StartTask returned no network override")
	}
	if network.Addr == "" {
		t.Errorf("network address is empty")
	}
	if !network.AutoAdvertise {
		t.Errorf("AutoAdvertise = false, want true in bridge mode")
	}
	if got := network.PortMap; len(got) != 1 || got["http"] != 8080 {
		t.Errorf("port map = %v, want map[http:8080]", got)
	}

	status, err := p.Driver.InspectTask(testContext(t, 30*time.Second), cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if status.Network == nil || status.Network.Addr != network.Addr || status.Network.PortMap["http"] != 8080 {
		t.Errorf("InspectTask network = %+v, want %+v", status.Network, network)
	}

	// The container's address is in the bridge network of the container
	// this test started.
	if got := getPage(t, net.JoinHostPort(network.Addr, "8080")); !strings.Contains(got, "hello-ferry") {
		t.Errorf("page from the container address = %q, want hello-ferry", got)
	}
	published := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(hostPort)))
	if got := getPage(t, published); !strings.Contains(got, "hello-ferry") {
		t.Errorf("page from the published port = %q, want hello-ferry", got)
	}
}

func TestConformanceNetworkHostMode(t *testing.T) {
	p := launchVideo(t)
	_, cfg := p.newTask(t, "hostnet", shellHCL("exec sleep 300")+"network_mode = \"host\"\nports = [\"http\"]\n")
	cfg.Resources.Ports = []plugins.PortMapping{{Label: "http", Value: freePort(t), HostIP: "127.0.0.1"}}

	_, network, err := p.Driver.StartTask(testContext(t, 3*time.Minute), cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), cfg.ID, true) })

	if network == nil {
		t.Fatalf("StartTask returned no network override")
	}
	if network.AutoAdvertise {
		t.Errorf("AutoAdvertise = true, want false in host mode")
	}
	if network.Addr != "" {
		t.Errorf("network address = %q, want none in host mode", network.Addr)
	}
	if want := cfg.Resources.Ports[0].Value; network.PortMap["http"] != want {
		t.Errorf("port map = %v, want http mapped to the host port %d", network.PortMap, want)
	}

	list := containers(t, cfg.AllocID)
	if len(list) != 1 {
		t.Fatalf("containers = %d, want 1", len(list))
	}
	info, err := conformance.docker.ContainerInspect(context.Background(), list[0].ID)
	if err != nil {
		t.Fatalf("inspect container: %v", err)
	}
	if len(info.HostConfig.PortBindings) != 0 {
		t.Errorf("port bindings = %v, want none in host mode", info.HostConfig.PortBindings)
	}
}

func TestConformanceNetworkUnknownPort(t *testing.T) {
	tests := []struct {
		name    string
		defined []plugins.PortMapping
		want    string
	}{
		{"other labels defined", []plugins.PortMapping{{Label: "rtsp", Value: 15000}, {Label: "api", Value: 15001}}, "(defined: api, rtsp)"},
		{"no labels defined", nil, "(defined: none)"},
	}
	p := launchVideo(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := p.newTask(t, fmt.Sprintf("badport%d", i), shellHCL("exec sleep 300")+"ports = [\"http\"]\n")
			cfg.Resources.Ports = tt.defined

			_, _, err := p.Driver.StartTask(testContext(t, 3*time.Minute), cfg)
			if err == nil {
				t.Fatalf("StartTask succeeded, want an error for the undefined label")
			}
			if !strings.Contains(err.Error(), `port "http"`) {
				t.Errorf("error %q does not name the label", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if n := len(containers(t, cfg.AllocID)); n != 0 {
				t.Errorf("containers after the failed start = %d, want 0", n)
			}
		})
	}
}
