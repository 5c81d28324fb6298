// Package nomadtest runs a Nomad dev agent on loopback for tests that need
// a real Nomad API. It finds the binary as the end-to-end suite does, in
// NOMAD_BIN or on PATH, and skips the test when there is none, because no
// registry serves this Nomad build.
package nomadtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/hashicorp/nomad/api"
)

// agentConfig keeps the dev agent on free loopback ports, away from any
// Consul or Vault on the machine, and skips the cloud metadata
// fingerprinters, which fail on machines without a metadata service.
const agentConfig = `
name      = %q
bind_addr = "127.0.0.1"
ports {
  http = %d
  rpc  = %d
  serf = %d
}
consul {
  client_auto_join = false
  server_auto_join = false
  auto_advertise   = false
}
client {
  network_interface = "lo"
  options {
    "fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"
  }
}
`

// Agent is a running dev agent.
type Agent struct {
	Client *api.Client
	// Addr is the HTTP address, for the nomad CLI.
	Addr string
	// LogPath is the file the agent writes its output to.
	LogPath string
}

// Start runs `nomad agent -dev` with the node name name until the test
// ends, or skips the test when no Nomad binary is found.
func Start(t *testing.T, name string) *Agent {
	t.Helper()
	bin, err := cluster.FindNomad()
	if err != nil {
		t.Skipf("skipped %s: %v", t.Name(), err)
	}

	ports := freePorts(t)
	dir := t.TempDir()
	configPath := filepath.Join(dir, "agent.hcl")
	config := fmt.Sprintf(agentConfig, name, ports[0], ports[1], ports[2])
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "nomad.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "agent", "-dev", "-bind", "127.0.0.1", "-config", configPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel kills the agent if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	addr := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatalf("nomad client: %v", err)
	}
	return &Agent{Client: client, Addr: addr, LogPath: logPath}
}

// freePorts returns the HTTP, RPC and Serf ports, each free on loopback
// when it was picked.
func freePorts(t *testing.T) [3]int {
	t.Helper()
	var ports [3]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
