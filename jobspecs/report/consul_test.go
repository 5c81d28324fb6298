package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/consul/api"
)

// consulVersion is the Consul release that e2e/tools/build-consul.sh
// builds into the cache folder.
const consulVersion = "1.14.11"

// consulBinary returns $CONSUL_BIN, else the binary that
// e2e/tools/build-consul.sh cached, else consul on PATH.
func consulBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("CONSUL_BIN"); bin != "" {
		return bin
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if home, err := os.UserHomeDir(); cache == "" && err == nil {
		cache = filepath.Join(home, ".cache")
	}
	cached := filepath.Join(cache, "ferry", "consul-"+consulVersion, "consul")
	if _, err := os.Stat(cached); err == nil {
		return cached
	}
	bin, err := exec.LookPath("consul")
	if err != nil {
		t.Fatal("consul binary not found in CONSUL_BIN, the cache folder or PATH: run e2e/tools/build-consul.sh")
	}
	return bin
}

// startConsul starts `consul agent -dev` on loopback ports, waits until it
// has synced its node, which happens after it elects itself leader, and
// stops it when the test ends. It returns the HTTP API address.
//
// NOTE: scheduler/internal/consultest does the same but is not importable
// from jobspecs, because Go limits internal packages to their parent tree.
func startConsul(t *testing.T) (*api.Client, string) {
	t.Helper()
	ports := reservePorts(t, 7)
	address := "127.0.0.1:" + strconv.Itoa(ports[0])
	flags := []string{"agent", "-dev", "-bind", "127.0.0.1", "-client", "127.0.0.1",
		"-node", "report-test-" + strconv.Itoa(ports[0]), "-data-dir", t.TempDir()}
	for i, name := range []string{"http", "dns", "serf-lan", "serf-wan", "server", "grpc", "grpc-tls"} {
		flags = append(flags, fmt.Sprintf("-%s-port", name), strconv.Itoa(ports[i]))
	}
	cmd := exec.Command(consulBinary(t), flags...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	output, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start consul: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	})

	scanner := bufio.NewScanner(output)
	var seen []string
	for scanner.Scan() {
		seen = append(seen, scanner.Text())
		if strings.Contains(scanner.Text(), "Synced node info") {
			break
		}
	}
	if len(seen) == 0 || !strings.Contains(seen[len(seen)-1], "Synced node info") {
		t.Fatalf("consul exited before syncing its node:\n%s", strings.Join(seen, "\n"))
	}
	go func() {
		for scanner.Scan() {
		}
	}()

	client, err := api.NewClient(&api.Config{Address: address})
	if err != nil {
		t.Fatal(err)
	}
	return client, address
}

// reservePorts returns n free loopback ports. Another process may take one
// between their release and Consul binding it.
func reservePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		listener, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer listener.Close()
		ports = append(ports, listener.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
