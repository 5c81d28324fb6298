package registrar

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
)

// fakeClock queues each After request for the test, which fires it by
// sending on the returned channel.
type fakeClock struct {
	requests chan time.Duration
	fire     chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{requests: make(chan time.Duration, 16), fire: make(chan time.Time)}
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.requests <- d
	return c.fire
}

func TestRunRetriesWithBackoff(t *testing.T) {
	// A listener that is closed at once leaves a loopback port with no
	// server, so every request is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	cfg := Config{Site: "s", Node: "offline", Roots: []string{t.TempDir()}, ConsulAddr: addr}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := New(&cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		r.Run(ctx, ticks, clock, false)
		close(done)
	}()

	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := <-clock.requests; got != want {
			t.Errorf("retry %d delay = %s, want %s", i+1, got, want)
		}
		if i == 1 {
			// A tick during a pending retry must not start another sync.
			ticks <- time.Time{}
		}
		clock.fire <- time.Time{}
	}
	if got := <-clock.requests; got != 8*time.Second {
		t.Errorf("retry 4 delay = %s, want 8s", got)
	}

	cancel()
	<-done
}

func TestRegistrarHolders(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)

	t.Run("replicas both listed", func(t *testing.T) {
		primary, replica := t.TempDir(), t.TempDir()
		addRecording(t, primary, "cam-r", "a.avi")
		addRecording(t, replica, "cam-r", "a.avi")
		a := newRegistrar(t, agent, Config{Node: "rep-a", ServiceName: "storage-replicas", Roots: []string{primary}})
		b := newRegistrar(t, agent, Config{Node: "rep-b", ServiceName: "storage-replicas", ReplicaRoots: []string{replica}})
		syncOnce(t, a)
		syncOnce(t, b)

		entries, _, err := client.Catalog().Service("storage-replicas", "camera:cam-r", nil)
		if err != nil {
			t.Fatalf("catalog service: %v", err)
		}
		var nodes []string
		for _, e := range entries {
			nodes = append(nodes, e.ServiceMeta["node"])
		}
		slices.Sort(nodes)
		if !slices.Equal(nodes, []string{"rep-a", "rep-b"}) {
			t.Errorf("holders of cam-r = %v, want [rep-a rep-b]", nodes)
		}
		if d, _ := readDetail(t, client, "ferry/storage/rep-b/cam-r"); !d.Replica {
			t.Errorf("rep-b detail replica = false, want true")
		}
		if d, _ := readDetail(t, client, "ferry/storage/rep-a/cam-r"); d.Replica {
			t.Errorf("rep-a detail replica = true, want false")
		}
	})

	t.Run("check critical on unreadable root", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		r := newRegistrar(t, agent, Config{Node: "sick-1", ServiceName: "storage-health", Roots: []string{root}})
		syncOnce(t, r)
		assertCheck(t, client, "storage-health", api.HealthPassing, "")

		// Removing the root makes it unreadable even for root, which
		// ignores permission bits.
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		syncOnce(t, r)
		assertCheck(t, client, "storage-health", api.HealthCritical, root)
	})

	t.Run("re-registers after external removal", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		r := newRegistrar(t, agent, Config{Node: "lost-1", ServiceName: "storage-lost", Roots: []string{root}})
		syncOnce(t, r)
		if err := client.Agent().ServiceDeregister("storage-lost-lost-1"); err != nil {
			t.Fatalf("deregister: %v", err)
		}

		// The first sync finds the check gone, and the next reads Consul
		// again and registers anew.
		if err := r.Sync(context.Background()); err == nil {
			t.Errorf("Sync after external removal succeeded, want the check update to fail")
		}
		syncOnce(t, r)
		if _, _, err := client.Agent().Service("storage-lost-lost-1", nil); err != nil {
			t.Errorf("service after recovery: %v", err)
		}
	})

	t.Run("withdraw on shutdown", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		r := newRegistrar(t, agent, Config{Node: "gone-1", ServiceName: "storage-gone", Roots: []string{root}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			r.Run(ctx, make(chan time.Time), newFakeClock(), true)
			close(done)
		}()
		waitForService(t, client, "storage-gone")

		cancel()
		<-done
		entries, _, err := client.Catalog().Service("storage-gone", "", nil)
		if err != nil {
			t.Fatalf("catalog service: %v", err)
		}
		if len(entries) != 0 {
			t.Errorf("catalog lists %d storage-gone entries after shutdown, want 0", len(entries))
		}
		keys, _, err := client.KV().Keys("ferry/storage/gone-1/", "", nil)
		if err != nil {
			t.Fatalf("kv keys: %v", err)
		}
		if len(keys) != 0 {
			t.Errorf("kv keys after shutdown = %v, want none", keys)
		}
	})
}

// waitForService blocks on catalog queries until the service is listed.
func waitForService(t *testing.T, client *api.Client, name string) {
	t.Helper()
	opts := &api.QueryOptions{WaitTime: 30 * time.Second}
	for range 20 {
		entries, meta, err := client.Catalog().Service(name, "", opts)
		if err != nil {
			t.Fatalf("catalog service %q: %v", name, err)
		}
		if len(entries) > 0 {
			return
		}
		opts.WaitIndex = meta.LastIndex
	}
	t.Fatalf("service %q not listed after 20 blocking queries", name)
}

func assertCheck(t *testing.T, client *api.Client, service, status, outputPart string) {
	t.Helper()
	checks, _, err := client.Health().Checks(service, nil)
	if err != nil {
		t.Fatalf("health checks %q: %v", service, err)
	}
	if len(checks) != 1 {
		t.Fatalf("service %q has %d checks, want 1", service, len(checks))
	}
	if checks[0].Status != status {
		t.Errorf("check status = %q, want %q (output %q)", checks[0].Status, status, checks[0].Output)
	}
	if !strings.Contains(checks[0].Output, outputPart) {
		t.Errorf("check output = %q, want it to contain %q", checks[0].Output, outputPart)
	}
}
