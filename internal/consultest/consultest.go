// Package consultest starts a real Consul agent in development mode for
// tests. The agent listens only on loopback, on free ports, and keeps its
// data in a temporary folder that the test removes.
package consultest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// Version is the Consul release that e2e/tools builds.
const Version = "1.14.11"

// BuildCommand is the command that builds the Consul binary into the cache
// folder that Binary searches.
const BuildCommand = "e2e/tools/build-consul.sh"

// startTimeout bounds the wait for the agent to elect itself leader.
const startTimeout = 60 * time.Second

// Agent is a running `consul agent -dev` process.
type Agent struct {
	// HTTPAddr is the agent's HTTP API address, host:port.
	HTTPAddr string
	// NodeName is the agent's node name in the catalog.
	NodeName string

	cmd    *exec.Cmd
	exited chan struct{}

	mu  sync.Mutex
	log strings.Builder
}

// Binary returns the path of the Consul binary: $CONSUL_BIN if set, else the
// cache folder that BuildCommand writes, else `consul` on PATH.
func Binary() (string, error) {
	if bin := os.Getenv("CONSUL_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("CONSUL_BIN %q: %w", bin, err)
		}
		return bin, nil
	}

	cacheRoot := os.Getenv("XDG_CACHE_HOME")
	if cacheRoot == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cacheRoot = filepath.Join(home, ".cache")
		}
	}
	if cacheRoot != "" {
		cached := filepath.Join(cacheRoot, "ferry", "consul-"+Version, "consul")
		if _, err := os.Stat(cached); err == nil {
			return cached, nil
		}
	}

	bin, err := exec.LookPath("consul")
	if err != nil {
		return "", fmt.Errorf("consul binary not found in CONSUL_BIN, the cache folder or PATH: run %s", BuildCommand)
	}
	return bin, nil
}

// Start starts a development agent and stops it when the test ends. Without
// a Consul binary the test fails with the command that builds one.
func Start(t testing.TB) *Agent {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatalf("%v", err)
	}

	agent, err := start(bin, t.TempDir())
	if err != nil {
		t.Fatalf("start consul: %v", err)
	}
	t.Cleanup(func() {
		if err := agent.Stop(); err != nil {
			t.Errorf("stop consul: %v", err)
		}
	})
	return agent
}

// Client returns an API client for the agent.
func (a *Agent) Client(t testing.TB) *api.Client {
	t.Helper()
	client, err := api.NewClient(&api.Config{Address: a.HTTPAddr})
	if err != nil {
		t.Fatalf("consul client for %q: %v", a.HTTPAddr, err)
	}
	return client
}

// Stop interrupts the agent and waits for it to exit.
func (a *Agent) Stop() error {
	select {
	case <-a.exited:
		return nil
	default:
	}
	if err := a.cmd.Process.Signal(os.Interrupt); err != nil {
		return fmt.Errorf("interrupt consul pid %d: %w", a.cmd.Process.Pid, err)
	}
	select {
	case <-a.exited:
		return nil
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.exited
		return fmt.Errorf("consul pid %d did not exit within 30s of SIGINT; killed it", a.cmd.Process.Pid)
	}
}

// Output returns what the agent has written to stdout and stderr so far.
func (a *Agent) Output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.String()
}

func start(bin, dataDir string) (*Agent, error) {
	ports, err := freePorts(7)
	if err != nil {
		return nil, err
	}
	agent := &Agent{
		HTTPAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		NodeName: "consultest-" + strconv.Itoa(ports[0]),
		exited:   make(chan struct{}),
	}
	agent.cmd = exec.Command(bin, "agent", "-dev",
		"-node", agent.NodeName,
		"-bind", "127.0.0.1",
		"-client", "127.0.0.1",
		"-data-dir", dataDir,
		"-http-port", strconv.Itoa(ports[0]),
		"-dns-port", strconv.Itoa(ports[1]),
		"-serf-lan-port", strconv.Itoa(ports[2]),
		"-serf-wan-port", strconv.Itoa(ports[3]),
		"-server-port", strconv.Itoa(ports[4]),
		"-grpc-port", strconv.Itoa(ports[5]),
		// Development mode also opens gRPC TLS on port 8503 unless a port is given.
		"-grpc-tls-port", strconv.Itoa(ports[6]),
	)
	// The kernel kills the agent if the test binary dies first, such as on
	// a test timeout, so no agent outlives its test.
	agent.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}

	pr, pw := io.Pipe()
	agent.cmd.Stdout, agent.cmd.Stderr = pw, pw
	if err := agent.cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %q: %w", bin, err)
	}
	go agent.collect(pr)
	go func() {
		_ = agent.cmd.Wait()
		pw.Close()
		close(agent.exited)
	}()

	if err := agent.waitLeader(); err != nil {
		_ = agent.Stop()
		return nil, fmt.Errorf("%w\nconsul output:\n%s", err, agent.Output())
	}
	return agent, nil
}

func (a *Agent) collect(r io.Reader) {
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		a.mu.Lock()
		a.log.WriteString(scanner.Text())
		a.log.WriteByte('\n')
		a.mu.Unlock()
	}
}

// waitLeader polls the agent until its raft leader is known. A blocking
// query cannot replace the poll because the HTTP port opens only partway
// through the start.
func (a *Agent) waitLeader() error {
	client, err := api.NewClient(&api.Config{Address: a.HTTPAddr})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()

	var lastErr error
	for {
		leader, err := client.Status().Leader()
		if err == nil && leader != "" {
			return nil
		}
		lastErr = err
		select {
		case <-a.exited:
			return errors.New("consul exited before electing a leader")
		case <-ctx.Done():
			return fmt.Errorf("consul at %s elected no leader within %s: %v", a.HTTPAddr, startTimeout, lastErr)
		case <-ticker.C:
		}
	}
}

// freePorts reserves n distinct loopback TCP ports and releases them, so
// another process may take one before Consul binds it.
func freePorts(n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
