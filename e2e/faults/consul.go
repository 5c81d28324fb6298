package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/internal/consultest"
)

// consulAgent is a `consul agent -dev` on loopback that the suite stops and
// starts again on the same ports. Development mode keeps the catalog in
// memory, so each start begins with an empty catalog, as a Consul agent
// that lost its data would.
type consulAgent struct {
	binary string
	dir    string
	ports  []int
	cmd    *exec.Cmd
	exited chan struct{}
}

// httpAddr is the agent's HTTP address, host:port.
func (a *consulAgent) httpAddr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.ports[0]))
}

func startConsulAgent(ctx context.Context, dir string) (*consulAgent, error) {
	bin, err := consultest.Binary()
	if err != nil {
		return nil, err
	}
	ports, err := freeLoopbackPorts(7)
	if err != nil {
		return nil, err
	}
	a := &consulAgent{binary: bin, dir: dir, ports: ports}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return a, a.start(ctx)
}

func (a *consulAgent) start(ctx context.Context) error {
	p := a.ports
	a.cmd = exec.Command(a.binary, "agent", "-dev", "-node", "faults-"+strconv.Itoa(p[0]),
		"-bind", "127.0.0.1", "-client", "127.0.0.1", "-data-dir", filepath.Join(a.dir, "data"),
		"-http-port", strconv.Itoa(p[0]), "-dns-port", strconv.Itoa(p[1]), "-serf-lan-port", strconv.Itoa(p[2]),
		"-serf-wan-port", strconv.Itoa(p[3]), "-server-port", strconv.Itoa(p[4]), "-grpc-port", strconv.Itoa(p[5]),
		"-grpc-tls-port", strconv.Itoa(p[6]))
	logFile, err := os.OpenFile(filepath.Join(a.dir, "consul.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	a.cmd.Stdout, a.cmd.Stderr = logFile, logFile
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("start consul: %w", err)
	}
	cmd, exited := a.cmd, make(chan struct{})
	a.exited = exited
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return a.waitLeader(ctx)
}

// waitLeader waits until the agent's HTTP API reports a raft leader.
func (a *consulAgent) waitLeader(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	url := "http://" + a.httpAddr() + "/v1/status/leader"
	for {
		if body, err := getBody(ctx, url); err == nil && len(body) > 2 {
			return nil
		}
		select {
		case <-a.exited:
			return fmt.Errorf("consul exited at start; its log is %s", filepath.Join(a.dir, "consul.log"))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("consul at %s elected no leader within a minute; its log is %s", a.httpAddr(), filepath.Join(a.dir, "consul.log"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop sends sig and waits for the agent to exit, killing it after 30
// seconds.
func (a *consulAgent) stop(sig syscall.Signal) error {
	if a.cmd == nil {
		return nil
	}
	a.cmd.Process.Signal(sig)
	select {
	case <-a.exited:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
	a.cmd = nil
	return nil
}

// freeLoopbackPorts reserves n loopback ports by binding and releasing
// them.
// NOTE: another process may take a port between release and its use.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func getBody(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, errors.New(resp.Status)
	}
	return body, nil
}
