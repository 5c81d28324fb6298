// Package cluster starts a throwaway Nomad cluster on loopback: one server
// and several clients, each client loading ferry's video task driver with
// its own camera storage folder. The end-to-end suite and the demo use it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// ClientSpec describes one Nomad client agent.
type ClientSpec struct {
	// Name is the Nomad node name, such as "edge-1".
	Name string
	// Cameras maps a camera id to the recording files that this client's
	// camera storage holds for it. The files are copied into
	// <camera root>/<camera id>/.
	Cameras map[string][]string
	// Plugins maps a plugin file name to the built binary that is copied
	// into the client's plugin folder next to the video driver, such as
	// "vsphere" for the vsphere driver. The plugin's own `plugin` block
	// goes in ExtraHCL.
	Plugins map[string]string
	// ClientHCL is added inside the client's `client` block, such as
	// `cni_path = "/usr/lib/cni"`.
	ClientHCL string
	// ExtraHCL is added at the top level of the client's configuration,
	// such as a `plugin "vsphere"` block.
	ExtraHCL string
}

// Config describes a cluster to start.
type Config struct {
	// Nomad is the path of the nomad binary, as returned by FindNomad.
	Nomad string
	// VideoPlugin is the path of the built video driver plugin binary.
	VideoPlugin string
	// Dir is the folder for every agent's files. Stop removes it.
	Dir string
	// Clients lists the client agents, at least one.
	Clients []ClientSpec
	// ConsulAddr is the HTTP address, host:port, of a Consul agent that
	// every agent uses for service registration. Empty leaves Consul off.
	ConsulAddr string
	// ReadyTimeout bounds the wait for the leader and for every client to be
	// ready with a healthy video driver. Zero means 2 minutes.
	ReadyTimeout time.Duration
}

// Agent is one running Nomad agent process.
type Agent struct {
	Name    string
	Address string
	Dir     string
	LogPath string
	// CameraRoot is the client's camera storage folder, empty on the server.
	CameraRoot string
	// PluginDir is the client's plugin_dir, empty on the server.
	PluginDir string
	// NodeID is the client's Nomad node id, empty on the server.
	NodeID string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Cluster is a running server and its clients.
type Cluster struct {
	Nomad   string
	Dir     string
	Server  *Agent
	Clients []*Agent
	API     *Client
}

// Start writes the agents' configurations, starts them and waits until the
// server has a leader and every client is ready with a healthy video driver.
// On error it stops whatever it started and removes cfg.Dir.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.Clients) == 0 {
		return nil, errors.New("start cluster: no clients configured")
	}
	if _, err := os.Stat(cfg.VideoPlugin); err != nil {
		return nil, fmt.Errorf("start cluster: video plugin %q: %w (build it with make build)", cfg.VideoPlugin, err)
	}
	timeout := cfg.ReadyTimeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}

	c := &Cluster{Nomad: cfg.Nomad, Dir: cfg.Dir}
	if err := c.start(ctx, cfg, timeout); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, cfg Config, timeout time.Duration) error {
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("start cluster: %w", err)
	}

	serverPorts, err := freePorts()
	if err != nil {
		return err
	}
	serverDir := filepath.Join(cfg.Dir, "server")
	c.Server, err = c.launch("server", serverDir, serverConfig(filepath.Join(serverDir, "data"), serverPorts, cfg.ConsulAddr))
	if err != nil {
		return err
	}
	c.Server.Address = "http://127.0.0.1:" + strconv.Itoa(serverPorts.HTTP)
	c.API = &Client{Address: c.Server.Address}

	for _, spec := range cfg.Clients {
		agent, err := c.launchClient(cfg, spec, serverPorts.RPC)
		if err != nil {
			return err
		}
		c.Clients = append(c.Clients, agent)
	}

	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return c.waitReady(waitCtx)
}

func (c *Cluster) launchClient(cfg Config, spec ClientSpec, serverRPC int) (*Agent, error) {
	dir := filepath.Join(cfg.Dir, spec.Name)
	cc := clientConfig{
		Name:         spec.Name,
		DataDir:      filepath.Join(dir, "data"),
		AllocDir:     filepath.Join(dir, "alloc"),
		PluginDir:    filepath.Join(dir, "plugins"),
		CameraRoot:   filepath.Join(dir, "cameras"),
		CgroupParent: "ferry-e2e-" + filepath.Base(cfg.Dir) + "-" + spec.Name,
		ServerRPC:    serverRPC,
		ConsulAddr:   cfg.ConsulAddr,
		ClientHCL:    spec.ClientHCL,
		ExtraHCL:     spec.ExtraHCL,
	}
	for _, d := range []string{cc.DataDir, cc.AllocDir, cc.PluginDir, cc.CameraRoot} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("start client %q: %w", spec.Name, err)
		}
	}
	if err := copyFile(cfg.VideoPlugin, filepath.Join(cc.PluginDir, "video"), 0o755); err != nil {
		return nil, fmt.Errorf("start client %q: install video plugin: %w", spec.Name, err)
	}
	for name, bin := range spec.Plugins {
		if err := copyFile(bin, filepath.Join(cc.PluginDir, name), 0o755); err != nil {
			return nil, fmt.Errorf("start client %q: install plugin %q: %w", spec.Name, name, err)
		}
	}
	for camera, files := range spec.Cameras {
		cameraDir := filepath.Join(cc.CameraRoot, camera)
		if err := os.MkdirAll(cameraDir, 0o755); err != nil {
			return nil, fmt.Errorf("start client %q: %w", spec.Name, err)
		}
		for _, f := range files {
			if err := copyFile(f, filepath.Join(cameraDir, filepath.Base(f)), 0o644); err != nil {
				return nil, fmt.Errorf("start client %q: camera %q: %w", spec.Name, camera, err)
			}
		}
	}

	var err error
	cc.Ports, err = freePorts()
	if err != nil {
		return nil, err
	}
	agent, err := c.launch(spec.Name, dir, cc.render())
	if err != nil {
		return nil, err
	}
	agent.Address = "http://127.0.0.1:" + strconv.Itoa(cc.Ports.HTTP)
	agent.CameraRoot = cc.CameraRoot
	agent.PluginDir = cc.PluginDir
	return agent, nil
}

// launch writes an agent's config file and starts `nomad agent` on it, with
// its output going to agent.log in dir.
func (c *Cluster) launch(name, dir, hcl string) (*Agent, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("start agent %q: %w", name, err)
	}
	configPath := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(configPath, []byte(hcl), 0o644); err != nil {
		return nil, fmt.Errorf("start agent %q: %w", name, err)
	}
	logPath := filepath.Join(dir, "agent.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start agent %q: %w", name, err)
	}
	defer logFile.Close()

	cmd := exec.Command(c.Nomad, "agent", "-config", configPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = agentEnv()
	// A process group of its own keeps a Ctrl-C meant for the caller from
	// reaching the agent, so that Stop controls the shutdown order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start agent %q: %w", name, err)
	}

	agent := &Agent{Name: name, Dir: dir, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		agent.err = cmd.Wait()
		close(agent.done)
	}()
	return agent, nil
}

// agentEnv returns the environment for agents, without NOMAD_ variables
// that would point them at another cluster.
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) >= 6 && kv[:6] == "NOMAD_" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// freePorts reserves three loopback ports by binding and releasing them.
// NOTE: another process may take a port between release and Nomad's bind.
func freePorts() (ports, error) {
	var got [3]int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for i := range got {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return ports{}, fmt.Errorf("reserve loopback port: %w", err)
		}
		listeners = append(listeners, l)
		got[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports{HTTP: got[0], RPC: got[1], Serf: got[2]}, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()

	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
