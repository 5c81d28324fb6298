package camera_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// agentConfig is a single Nomad agent that is both server and client on
// loopback. Its client loads the video driver and the camera plugin, with
// one IP camera, gate-1 at 5th-and-main.
const agentConfig = `
name      = "camera-test"
data_dir  = %[1]q
bind_addr = "127.0.0.1"
log_level = "DEBUG"
plugin_dir = %[2]q

advertise {
  http = "127.0.0.1"
  rpc  = "127.0.0.1"
  serf = "127.0.0.1"
}

ports {
  http = %[3]d
  rpc  = %[4]d
  serf = %[5]d
}

server {
  enabled          = true
  bootstrap_expect = 1
}

client {
  enabled           = true
  servers           = ["127.0.0.1:%[4]d"]
  alloc_dir         = %[6]q
  cgroup_parent     = %[8]q
  network_interface = "lo"

  options {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"
  }
}

consul {
  client_auto_join = false
  server_auto_join = false
  auto_advertise   = false
}

vault {
  enabled = false
}

plugin "video" {
  config {}
}

plugin "camera" {
  config {
    sysfs_root         = %[9]q
    fingerprint_period = "2s"
    ip_camera {
      id       = "gate-1"
      rtsp_url = %[7]q
      location = "5th-and-main"
    }
  }
}
`

// nomadAgent is a running `nomad agent` started by startNomadAgent.
type nomadAgent struct {
	dir          string
	logPath      string
	cgroupParent string
	api          *cluster.Client
	cmd          *exec.Cmd
	done         chan struct{}
}

// startNomadAgent builds both plugins into a plugin dir, starts the agent
// and stops it, its jobs and what it mounted when the test ends.
func startNomadAgent(t *testing.T, nomad, streamURL string) *nomadAgent {
	t.Helper()
	dir, err := os.MkdirTemp("", "ferry-camera-nomad-")
	if err != nil {
		t.Fatal(err)
	}
	pluginDir := filepath.Join(dir, "plugins")
	for _, sub := range []string{pluginDir, filepath.Join(dir, "data"), filepath.Join(dir, "alloc"), filepath.Join(dir, "sysfs")} {
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	installPlugin(t, pluginDir, "video")
	installPlugin(t, pluginDir, "camera")

	ports := freeTCPPorts(t, 3)
	a := &nomadAgent{
		dir:          dir,
		logPath:      filepath.Join(dir, "agent.log"),
		cgroupParent: "ferry-camera-test-" + filepath.Base(dir),
		api:          &cluster.Client{Address: fmt.Sprintf("http://127.0.0.1:%d", ports[0])},
		done:         make(chan struct{}),
	}
	config := fmt.Sprintf(agentConfig, filepath.Join(dir, "data"), pluginDir, ports[0], ports[1], ports[2],
		filepath.Join(dir, "alloc"), streamURL, a.cgroupParent, filepath.Join(dir, "sysfs"))
	configPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	a.cmd = exec.Command(nomad, "agent", "-config", configPath)
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start nomad agent: %v", err)
	}
	go func() {
		_ = a.cmd.Wait()
		close(a.done)
	}()
	t.Cleanup(func() { a.stop(t) })
	return a
}

func freeTCPPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var listeners []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range listeners {
		l.Close()
	}
	return ports
}

// stop purges the jobs, garbage collects the allocations so that Nomad
// unmounts their folders, stops the agent and removes its folder. On a
// failed test it logs the agent's log.
func (a *nomadAgent) stop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if jobs, err := a.api.Jobs(ctx); err == nil {
		for _, job := range jobs {
			if err := a.api.StopJob(ctx, job.ID, true); err != nil {
				t.Errorf("stop job %q: %v", job.ID, err)
			}
		}
	}
	if err := a.call(ctx, http.MethodPut, "/v1/client/gc", nil); err != nil {
		t.Logf("client garbage collection: %v", err)
	}

	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
	case <-ctx.Done():
		_ = a.cmd.Process.Kill()
		<-a.done
		t.Errorf("nomad agent did not stop within a minute of SIGINT and was killed")
	}
	if t.Failed() {
		if data, err := os.ReadFile(a.logPath); err == nil {
			t.Logf("nomad agent log:\n%s", data)
		}
	}
	unmountUnder(t, a.dir)
	removeCgroups(filepath.Join("/sys/fs/cgroup", a.cgroupParent))
	if err := os.RemoveAll(a.dir); err != nil {
		t.Errorf("remove %s: %v", a.dir, err)
	}
}

// call sends a request to the agent's HTTP API and decodes a JSON
// response into out, unless out is nil.
func (a *nomadAgent) call(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.api.Address+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("nomad api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("nomad api %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("nomad api %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*string); ok {
		*raw = string(data)
		return nil
	}
	return json.Unmarshal(data, out)
}

// unmountUnder unmounts every mount point below dir, deepest first, such
// as the secrets folders Nomad mounts into task directories.
func unmountUnder(t *testing.T, dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mounts: %v", err)
		return
	}
	defer f.Close()
	var points []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 5 {
			continue
		}
		point := strings.ReplaceAll(fields[4], `\040`, " ")
		if strings.HasPrefix(point, dir+"/") {
			points = append(points, point)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, point := range points {
		if err := syscall.Unmount(point, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", point, err)
		}
	}
}

// removeCgroups removes the cgroup folder and its children, deepest first.
// Folders that still have processes stay.
func removeCgroups(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i])
	}
}
