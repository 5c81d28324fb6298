package vsphere

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"

	"github.com/ferry-video/ferry/plugins"
)

const (
	testUser     = "ferry"
	testPassword = "s3cret-pw"
	testTemplate = "ubuntu-template"
	testCluster  = "DC0_C0"
)

// simEnv is an in-process vcsim with a VPX inventory whose VM DC0_H0_VM0
// is powered off, renamed to testTemplate and marked as a template.
type simEnv struct {
	t      testing.TB
	model  *simulator.Model
	server *simulator.Server
	// url is the SDK address without user info.
	url    string
	client *govmomi.Client
}

func newSim(t testing.TB) *simEnv { return startSim(t, false, false) }

// newSimTLS is newSim served over HTTPS with a self-signed certificate.
func newSimTLS(t testing.TB) *simEnv { return startSim(t, true, false) }

// newSimREST is newSim that also serves the vCenter REST API with content
// libraries. The other simulators leave it out, so that their tests show
// that template tasks and the fingerprint work without it.
func newSimREST(t testing.TB) *simEnv { return startSim(t, false, true) }

func startSim(t testing.TB, withTLS, withREST bool) *simEnv {
	t.Helper()
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatalf("create vcsim model: %v", err)
	}
	m.Service.Listen = &url.URL{User: url.UserPassword(testUser, testPassword)}
	if withTLS {
		m.Service.TLS = new(tls.Config)
	}
	m.Service.RegisterEndpoints = withREST
	s := m.Service.NewServer()
	e := &simEnv{t: t, model: m, server: s}
	t.Cleanup(func() {
		s.Close()
		m.Remove()
	})
	u := *s.URL
	u.User = nil
	e.url = u.String()

	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatalf("connect to vcsim: %v", err)
	}
	e.client = c
	vm := e.vm("DC0_H0_VM0")
	mustTask(t, vm.PowerOff)
	mustTask(t, func(ctx context.Context) (*object.Task, error) { return vm.Rename(ctx, testTemplate) })
	if err := vm.MarkAsTemplate(ctx); err != nil {
		t.Fatalf("mark template: %v", err)
	}
	return e
}

func mustTask(t testing.TB, f func(context.Context) (*object.Task, error)) {
	t.Helper()
	task, err := f(context.Background())
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatalf("vSphere task: %v", err)
	}
}

// vm finds a VM by name in DC0.
func (e *simEnv) vm(name string) *object.VirtualMachine {
	e.t.Helper()
	finder := find.NewFinder(e.client.Client, true)
	dc, err := finder.Datacenter(context.Background(), "DC0")
	if err != nil {
		e.t.Fatalf("find DC0: %v", err)
	}
	finder.SetDatacenter(dc)
	vm, err := finder.VirtualMachine(context.Background(), name)
	if err != nil {
		e.t.Fatalf("find VM %q: %v", name, err)
	}
	return vm
}

// vmExists reports whether a VM with the managed object id exists.
func (e *simEnv) vmExists(id string) bool {
	return e.model.Map().Get(types.ManagedObjectReference{Type: "VirtualMachine", Value: id}) != nil
}

// update changes properties of a simulated object, as the ESXi host would.
func (e *simEnv) update(id string, changes ...types.PropertyChange) {
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	obj := e.model.Map().Get(ref)
	if obj == nil {
		e.t.Fatalf("VM %q not in vcsim", id)
	}
	e.model.Map().AtomicUpdate(e.model.Service.Context, obj, changes)
}

// pluginConfig returns a valid plugin config for the simulator.
func (e *simEnv) pluginConfig() *PluginConfig {
	e.t.Helper()
	file := filepath.Join(e.t.TempDir(), "password")
	if err := os.WriteFile(file, []byte(testPassword+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return &PluginConfig{URL: e.url, Username: testUser, PasswordFile: file, Cluster: testCluster}
}

// newDriver returns a driver configured for the simulator with cfg, or the
// default config when cfg is nil.
func (e *simEnv) newDriver(clk clock, cfg *PluginConfig) *Driver {
	e.t.Helper()
	if cfg == nil {
		cfg = e.pluginConfig()
	}
	if err := cfg.validate(); err != nil {
		e.t.Fatalf("validate plugin config: %v", err)
	}
	d := newDriver(hclog.NewNullLogger(), clk)
	d.applyConfig(cfg)
	return d
}

// encodeCty encodes attrs as the cty msgpack of an object, as Nomad does.
func encodeCty(t testing.TB, attrs map[string]cty.Value) []byte {
	t.Helper()
	value := cty.ObjectVal(attrs)
	data, err := ctymsgpack.Marshal(value, value.Type())
	if err != nil {
		t.Fatalf("encode cty msgpack: %v", err)
	}
	return data
}

// taskConfig returns a Nomad task config with a fresh task id.
func taskConfig(t testing.TB, name string, attrs map[string]cty.Value) *plugins.TaskConfig {
	if attrs == nil {
		attrs = map[string]cty.Value{"template": cty.StringVal(testTemplate)}
	}
	alloc := randomID()
	return &plugins.TaskConfig{
		ID:           alloc + "/" + name + "/" + alloc[:8],
		Name:         name,
		AllocID:      alloc,
		NodeID:       "node-1",
		DriverConfig: encodeCty(t, attrs),
		Env:          map[string]string{"NOMAD_ALLOC_ID": alloc, "NOMAD_TASK_NAME": name},
		Resources:    &plugins.Resources{CPUShares: 1500, MemoryMB: 256},
	}
}

// randomID returns a UUID-shaped random id like Nomad's alloc ids.
func randomID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func isRecoverable(err error) bool {
	var r *plugins.RecoverableError
	return errors.As(err, &r)
}

// manualClock fires an After channel only when the test calls fire.
type manualClock struct {
	mu      sync.Mutex
	waiters []waiter
	added   chan struct{}
}

type waiter struct {
	d  time.Duration
	ch chan time.Time
}

func newManualClock() *manualClock { return &manualClock{added: make(chan struct{})} }

func (c *manualClock) Now() time.Time { return time.Now() }

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{d, ch})
	close(c.added)
	c.added = make(chan struct{})
	return ch
}

// fire waits until something waits for d and fires every such waiter.
func (c *manualClock) fire(t testing.TB, d time.Duration) {
	t.Helper()
	c.fireN(t, d, 1)
}

// fireN fires waiters for d, waiting for more to come, until it has fired
// at least n.
func (c *manualClock) fireN(t testing.TB, d time.Duration, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	fired := 0
	for {
		c.mu.Lock()
		var rest []waiter
		for _, w := range c.waiters {
			if w.d == d {
				w.ch <- time.Now()
				fired++
			} else {
				rest = append(rest, w)
			}
		}
		c.waiters = rest
		added := c.added
		c.mu.Unlock()
		if fired >= n {
			return
		}
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("nothing waited for %v", d)
		}
	}
}

func nullLogger() hclog.Logger { return hclog.NewNullLogger() }

func typesToolsRunning() types.PropertyChange {
	return types.PropertyChange{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)}
}

// writeCA writes the simulator's TLS certificate as a PEM file.
func (e *simEnv) writeCA() string {
	e.t.Helper()
	file := filepath.Join(e.t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.server.Certificate().Raw})
	if err := os.WriteFile(file, data, 0o600); err != nil {
		e.t.Fatal(err)
	}
	return file
}

// waitWaiters waits until at least n waiters wait for d, without firing.
func (c *manualClock) waitWaiters(t testing.TB, d time.Duration, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		c.mu.Lock()
		count := 0
		for _, w := range c.waiters {
			if w.d == d {
				count++
			}
		}
		added := c.added
		c.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-added:
		case <-deadline:
			t.Fatalf("%d of %d waiters wait for %v", count, n, d)
		}
	}
}
