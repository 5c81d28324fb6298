package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// Heartbeat settings of the partition cluster's server. A client that
// misses heartbeats is marked disconnected after its TTL, up to twice
// minHeartbeatTTL with Nomad's stagger, plus heartbeatGrace.
const (
	minHeartbeatTTL = 2 * time.Second
	heartbeatGrace  = 5 * time.Second
)

// netAgent is a Nomad agent running inside a network namespace.
type netAgent struct {
	name      string
	namespace string
	dir       string
	pluginDir string
	nodeID    string
	cmd       *exec.Cmd
	done      chan struct{}
}

// netCluster is a Nomad server and clients, each in its own network
// namespace of a netLab. Every agent listens on Nomad's default ports,
// which are free because each namespace has its own.
type netCluster struct {
	lab     *netLab
	dir     string
	server  *netAgent
	clients []*netAgent
	api     *cluster.Client
	// plugin is the video plugin binary each client loads.
	plugin string
	// cgroupPrefix starts the cgroup_parent of every client.
	cgroupPrefix string
	// logsChecked maps an alloc ID to the last line number whose log
	// copies were compared.
	logsChecked map[string]int
}

// startNetCluster creates the namespaces and starts one server and the
// given number of clients, and waits until every client is ready with a
// healthy video driver. On error it removes everything it created.
func (s *suite) startNetCluster(ctx context.Context, nomad string, clients int) (*netCluster, error) {
	id := randomHex(3)
	lab, err := newNetLab(ctx, id, clients)
	if err != nil {
		return nil, err
	}
	c := &netCluster{lab: lab, dir: filepath.Join(s.tempDir, "net-"+id), plugin: s.binary, cgroupPrefix: "ferry-faults-" + id}
	c.api = &cluster.Client{
		Address: "http://" + net.JoinHostPort(serverAddr, "4646"),
		HTTP:    &http.Client{Timeout: 30 * time.Second, Transport: namespaceTransport(lab.server)},
	}
	if err := c.start(ctx, nomad); err != nil {
		return nil, errors.Join(err, c.stop(true))
	}
	return c, nil
}

// namespaceTransport returns an HTTP transport that dials from inside the
// named network namespace.
func namespaceTransport(namespace string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, address string) (net.Conn, error) {
			return dialInNamespace(ctx, namespace, address)
		},
		// A cut link leaves idle connections that never respond.
		DisableKeepAlives: true,
	}
}

func (c *netCluster) start(ctx context.Context, nomad string) error {
	var err error
	c.server, err = c.launch(nomad, "server", c.lab.server, c.serverHCL())
	if err != nil {
		return err
	}
	for i, link := range c.lab.clients {
		name := fmt.Sprintf("edge-%d", i+1)
		agent, err := c.launch(nomad, name, link.namespace, "")
		if err != nil {
			return err
		}
		agent.pluginDir = filepath.Join(agent.dir, "plugins")
		if err := c.writeClientConfig(agent, link); err != nil {
			return err
		}
		if err := agent.run(nomad); err != nil {
			return err
		}
		c.clients = append(c.clients, agent)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return c.waitReady(wctx)
}

func (c *netCluster) serverHCL() string {
	return c.commonHCL("server", serverAddr) + fmt.Sprintf(`server {
  enabled           = true
  bootstrap_expect  = 1
  min_heartbeat_ttl = %q
  heartbeat_grace   = %q
}
`, minHeartbeatTTL, heartbeatGrace)
}

func (c *netCluster) commonHCL(name, addr string) string {
	return fmt.Sprintf(`name      = %q
data_dir  = %q
bind_addr = %q
log_level = "DEBUG"
advertise {
  http = %[3]q
  rpc  = %[3]q
  serf = %[3]q
}
consul {
  client_auto_join = false
  server_auto_join = false
  auto_advertise   = false
}
vault {
  enabled = false
}
`, name, filepath.Join(c.dir, name, "data"), addr)
}

// writeClientConfig installs the video plugin into the client's plugin
// folder and writes its agent config.
func (c *netCluster) writeClientConfig(agent *netAgent, link netClient) error {
	storage := filepath.Join(agent.dir, "cameras")
	for _, dir := range []string{agent.pluginDir, storage} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := copyExecutable(c.plugin, filepath.Join(agent.pluginDir, "video")); err != nil {
		return fmt.Errorf("install video plugin for %q: %w", agent.name, err)
	}
	hcl := c.commonHCL(agent.name, link.addr) + fmt.Sprintf(`plugin_dir = %q
client {
  enabled           = true
  servers           = ["%s:4647"]
  alloc_dir         = %q
  state_dir         = %q
  cgroup_parent     = %q
  network_interface = %q
  options {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"
  }
}
plugin "video" {
  config {
    camera_storage = [%q]
  }
}
`, agent.pluginDir, serverAddr, filepath.Join(agent.dir, "alloc"), filepath.Join(agent.dir, "data", "client"),
		c.cgroupPrefix+"-"+agent.name, link.iface, storage)
	return os.WriteFile(filepath.Join(agent.dir, "agent.hcl"), []byte(hcl), 0o644)
}

// launch creates the agent's folder and, when hcl is not empty, writes its
// config and starts it.
func (c *netCluster) launch(nomad, name, namespace, hcl string) (*netAgent, error) {
	agent := &netAgent{name: name, namespace: namespace, dir: filepath.Join(c.dir, name)}
	if err := os.MkdirAll(agent.dir, 0o755); err != nil {
		return nil, err
	}
	if hcl == "" {
		return agent, nil
	}
	if err := os.WriteFile(filepath.Join(agent.dir, "agent.hcl"), []byte(hcl), 0o644); err != nil {
		return nil, err
	}
	return agent, agent.run(nomad)
}

// run starts `nomad agent` inside the agent's network namespace only, so
// that the mounts Nomad makes for allocations stay visible to dockerd.
func (a *netAgent) run(nomad string) error {
	logFile, err := os.OpenFile(filepath.Join(a.dir, "agent.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command("nsenter", "--net=/run/netns/"+a.namespace, "--", nomad, "agent", "-config", filepath.Join(a.dir, "agent.hcl"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = agentEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nomad agent %q: %w", a.name, err)
	}
	a.cmd, a.done = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		close(a.done)
	}()
	return nil
}

// agentEnv returns the environment without NOMAD_ variables that would
// point the agents at another cluster.
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOMAD_") {
			env = append(env, kv)
		}
	}
	return env
}

// stopAgent interrupts the agent and kills it if it has not exited within
// 30 seconds.
func (a *netAgent) stopAgent() error {
	if a == nil || a.cmd == nil {
		return nil
	}
	a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.done:
		return nil
	case <-time.After(30 * time.Second):
	}
	a.cmd.Process.Kill()
	<-a.done
	return fmt.Errorf("nomad agent %q did not stop within 30s of SIGINT and was killed", a.name)
}

func (c *netCluster) waitReady(ctx context.Context) error {
	err := cluster.Poll(ctx, "clients ready in their network namespaces", func(ctx context.Context) (bool, error) {
		for _, a := range append([]*netAgent{c.server}, c.clients...) {
			select {
			case <-a.done:
				return false, fmt.Errorf("nomad agent %q exited; its log is %s", a.name, filepath.Join(a.dir, "agent.log"))
			default:
			}
		}
		nodes, err := c.api.Nodes(ctx)
		if err != nil {
			return false, err
		}
		ready := 0
		for _, n := range nodes {
			for _, a := range c.clients {
				video := n.Drivers["video"]
				if n.Name == a.name && n.Status == "ready" && video.Healthy {
					a.nodeID = n.ID
					ready++
				}
			}
		}
		return ready == len(c.clients), nil
	})
	if err != nil {
		return fmt.Errorf("%w; agent logs are under %s", err, c.dir)
	}
	return nil
}

// clientIndex returns the index of the client with the given node id, or
// -1.
func (c *netCluster) clientIndex(nodeID string) int {
	for i, a := range c.clients {
		if a.nodeID == nodeID {
			return i
		}
	}
	return -1
}
