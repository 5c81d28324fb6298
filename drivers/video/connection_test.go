package video

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

// dockerProxy forwards a unix socket to the local dockerd. Close drops the
// listener and every forwarded connection, as a dockerd restart does.
type dockerProxy struct {
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
}

func startDockerProxy(t *testing.T, path, target string) *dockerProxy {
	t.Helper()
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	p := &dockerProxy{listener: l}
	go p.serve(target)
	t.Cleanup(p.Close)
	return p
}

func (p *dockerProxy) serve(target string) {
	for {
		conn, err := p.listener.Accept()
		if err != nil {
			return
		}
		upstream, err := net.Dial("unix", target)
		if err != nil {
			conn.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, conn, upstream)
		p.mu.Unlock()
		go func() { io.Copy(upstream, conn); upstream.Close() }()
		go func() { io.Copy(conn, upstream); conn.Close() }()
	}
}

func (p *dockerProxy) Close() {
	p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// deadSocket creates a unix socket file without a listener.
func deadSocket(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	return path
}

// gateClock records each After delay and fires it when the test sends on
// fire. Its tickers tick only when the test sends on ticks.
type gateClock struct {
	delays chan time.Duration
	fire   chan time.Time
	ticks  chan time.Time
}

func newGateClock() *gateClock {
	return &gateClock{delays: make(chan time.Duration, 16), fire: make(chan time.Time), ticks: make(chan time.Time)}
}

func (c *gateClock) Now() time.Time { return time.Now() }
func (c *gateClock) After(d time.Duration) <-chan time.Time {
	c.delays <- d
	return c.fire
}
func (c *gateClock) NewTicker(time.Duration) ticker { return manualTicker{c.ticks} }

// newSocketDriver returns a driver whose Docker endpoint is the socket at
// path, with a fingerprint period of 8s.
func (e *testEnv) newSocketDriver(path string, log io.Writer) *Driver {
	e.t.Helper()
	d := New(hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Debug}))
	err := d.SetConfig(encodeCty(e.t, map[string]cty.Value{
		"endpoint":           cty.StringVal("unix://" + path),
		"camera_storage":     cty.ListVal([]cty.Value{cty.StringVal(e.storage)}),
		"fingerprint_period": cty.StringVal("8s"),
	}), nil)
	if err != nil {
		e.t.Fatalf("SetConfig: %v", err)
	}
	d.logHooks.saved = e.logs.signal
	return d
}

func TestDockerReconnectBackoff(t *testing.T) {
	env := newTestEnv(t)
	path := deadSocket(t)
	var log syncLog
	d := env.newSocketDriver(path, &log)
	clk := newGateClock()
	d.clock = clk

	task := env.newTask("nodocker", shellTask("exec sleep 300"))
	_, _, err := d.StartTask(context.Background(), task.cfg)
	if err == nil {
		t.Fatalf("StartTask succeeded without Docker")
	}
	if !isRecoverable(err) {
		t.Errorf("StartTask error %q is not recoverable", err)
	}
	if !strings.Contains(err.Error(), "docker is unreachable") || !strings.Contains(err.Error(), path) {
		t.Errorf("StartTask error %q does not say that Docker at %s is unreachable", err, path)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	first := <-stream
	if first.Health != plugins.HealthUnhealthy {
		t.Errorf("health = %v, want unhealthy", first.Health)
	}
	if !strings.Contains(first.Description, path) {
		t.Errorf("health description %q does not name the socket %s", first.Description, path)
	}

	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if got := <-clk.delays; got != want {
			t.Errorf("delay %d = %s, want %s", i+1, got, want)
		}
		if i < 4 {
			clk.fire <- time.Now()
		}
	}

	startDockerProxy(t, path, strings.TrimPrefix(env.docker.DaemonHost(), "unix://"))
	clk.fire <- time.Now()
	healthy := <-stream
	if healthy.Health != plugins.HealthHealthy {
		t.Errorf("health after the socket appeared = %v (%s), want healthy", healthy.Health, healthy.Description)
	}
	clk.ticks <- time.Now()
	clk.ticks <- time.Now()
	if got := strings.Count(log.String(), "reconnected to Docker"); got != 1 {
		t.Errorf("log has %d lines \"reconnected to Docker\", want 1:\n%s", got, log.String())
	}
}

// syncLog is a log output that tests can read while the driver writes.
type syncLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestWaitTaskAcrossDockerRestart(t *testing.T) {
	tests := []struct {
		name string
		// exitWhileAway stops the container while the proxy is down,
		// and otherwise after it is back, as with live-restore.
		exitWhileAway bool
	}{
		{"exits while Docker is away", true},
		{"keeps running while Docker is away", false},
	}
	env := newTestEnv(t)
	target := strings.TrimPrefix(env.docker.DaemonHost(), "unix://")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "docker.sock")
			proxy := startDockerProxy(t, path, target)
			d := env.newSocketDriver(path, io.Discard)
			task := env.newTask("away", shellTask("trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done"))
			handle, _, err := d.StartTask(context.Background(), task.cfg)
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			defer d.DestroyTask(context.Background(), task.cfg.ID, true)
			state, err := decodeDriverState(handle)
			if err != nil {
				t.Fatal(err)
			}
			task.stdout.waitFor(t, "ready\n", 20*time.Second)

			proxy.Close()
			if tt.exitWhileAway {
				stopUnderneath(t, env, state.ContainerID)
			}
			startDockerProxy(t, path, target)
			if !tt.exitWhileAway {
				status, err := d.InspectTask(context.Background(), task.cfg.ID)
				if err != nil {
					t.Fatalf("InspectTask: %v", err)
				}
				if status.State != plugins.TaskStateRunning {
					t.Errorf("task state after Docker came back = %v, want running", status.State)
				}
				stopUnderneath(t, env, state.ContainerID)
			}

			if got := waitExit(t, d, task.cfg.ID).ExitCode; got != 3 {
				t.Errorf("exit code = %d, want 3 from the container", got)
			}
		})
	}
}

// stopUnderneath sends SIGTERM to the container through dockerd directly and
// waits until it has exited.
func stopUnderneath(t *testing.T, env *testEnv, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitCh, errCh := env.docker.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	if err := env.docker.ContainerKill(ctx, id, "SIGTERM"); err != nil {
		t.Fatalf("kill container %s: %v", id, err)
	}
	select {
	case <-waitCh:
	case err := <-errCh:
		t.Fatalf("wait for container %s: %v", id, err)
	}
}
