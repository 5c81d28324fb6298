package video

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"

	"github.com/ferry-video/ferry/plugins"
)

// Test image built from the host's static busybox, without a registry.
const (
	testImage      = "ferry-test/busybox:1"
	testImageLabel = "com.ferry-video.test"
)

var testImageOnce sync.Once
var testImageErr error

// dockerClient returns a client of the local dockerd and fails the test when
// none responds.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	docker, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatalf("create Docker client: %v", err)
	}
	if _, err := docker.Ping(context.Background()); err != nil {
		t.Fatalf("dockerd is not reachable at %s (start dockerd to run these tests): %v", docker.DaemonHost(), err)
	}
	t.Cleanup(func() { docker.Close() })
	return docker
}

// ensureTestImage imports /bin/busybox as testImage once per test run.
func ensureTestImage(t *testing.T, docker *client.Client) {
	t.Helper()
	testImageOnce.Do(func() { testImageErr = importTestImage(docker) })
	if testImageErr != nil {
		t.Fatalf("build test image %s from /bin/busybox: %v", testImage, testImageErr)
	}
}

func importTestImage(docker *client.Client) error {
	ctx := context.Background()
	if _, err := docker.ImageInspect(ctx, testImage); err == nil {
		return nil
	}
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "tmp/", "etc/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
			return err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/busybox", Mode: 0o755, Size: int64(len(busybox))}); err != nil {
		return err
	}
	if _, err := tw.Write(busybox); err != nil {
		return err
	}
	for _, tool := range []string{"sh", "sleep", "echo", "cat", "ls", "touch", "true", "yes"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + tool, Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}

	body, err := docker.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, testImage, image.ImportOptions{
		Changes: []string{"LABEL " + testImageLabel + "=1", `CMD ["/bin/sh"]`, "ENV PATH=/bin"},
	})
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// testEnv is a driver with its own node id, camera storage and allowed host
// path, whose containers are removed when the test ends.
type testEnv struct {
	t       *testing.T
	docker  *client.Client
	driver  *Driver
	nodeID  string
	storage string
	allowed string
	logs    *logNotifier
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	docker := dockerClient(t)
	ensureTestImage(t, docker)
	env := &testEnv{
		t:       t,
		docker:  docker,
		nodeID:  fmt.Sprintf("test-node-%d", time.Now().UnixNano()),
		storage: t.TempDir(),
		allowed: t.TempDir(),
		logs:    &logNotifier{},
	}
	env.driver = env.newDriver()
	t.Cleanup(env.removeContainers)
	return env
}

// newDriver returns a fresh driver value, as after a plugin restart.
func (e *testEnv) newDriver() *Driver {
	e.t.Helper()
	return e.newDriverWith(nil)
}

// newDriverWith is newDriver with extra plugin config attributes.
func (e *testEnv) newDriverWith(extra map[string]cty.Value) *Driver {
	e.t.Helper()
	d := New(hclog.NewNullLogger())
	attrs := map[string]cty.Value{
		"endpoint":           cty.StringVal(e.docker.DaemonHost()),
		"camera_storage":     cty.ListVal([]cty.Value{cty.StringVal(e.storage)}),
		"allowed_host_paths": cty.ListVal([]cty.Value{cty.StringVal(e.allowed)}),
		"allow_privileged":   cty.False,
		"gc": cty.ObjectVal(map[string]cty.Value{
			"image":       cty.False,
			"image_delay": cty.StringVal("3m"),
		}),
		"fingerprint_period": cty.StringVal("30s"),
		"pull_timeout":       cty.StringVal("1m"),
	}
	for k, v := range extra {
		attrs[k] = v
	}
	err := d.SetConfig(encodeCty(e.t, attrs), nil)
	if err != nil {
		e.t.Fatalf("SetConfig: %v", err)
	}
	d.logHooks.saved = e.logs.signal
	return d
}

// removeContainers force-removes every container labelled with this
// environment's node id.
func (e *testEnv) removeContainers() {
	ctx := context.Background()
	list, err := e.docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", labelNodeID+"="+e.nodeID)),
	})
	if err != nil {
		e.t.Errorf("list test containers: %v", err)
		return
	}
	for _, c := range list {
		if err := e.docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil {
			e.t.Errorf("remove test container %s: %v", c.ID, err)
		}
	}
}

// containers returns the ids of containers labelled with this node id.
func (e *testEnv) containers() []string {
	e.t.Helper()
	list, err := e.docker.ContainerList(context.Background(), container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", labelNodeID+"="+e.nodeID)),
	})
	if err != nil {
		e.t.Fatalf("list containers: %v", err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

// encodeCty encodes attrs as the cty msgpack of an object, as Nomad does.
func encodeCty(t *testing.T, attrs map[string]cty.Value) []byte {
	t.Helper()
	value := cty.ObjectVal(attrs)
	data, err := ctymsgpack.Marshal(value, value.Type())
	if err != nil {
		t.Fatalf("encode cty msgpack: %v", err)
	}
	return data
}

// shellTask returns a task config that runs script with sh -c.
func shellTask(script string) map[string]cty.Value {
	return map[string]cty.Value{
		"image":   cty.StringVal(testImage),
		"command": cty.StringVal("/bin/sh"),
		"args":    cty.ListVal([]cty.Value{cty.StringVal("-c"), cty.StringVal(script)}),
	}
}

// taskFixture is a Nomad task config with its directories, and readers of
// the log files the driver writes.
type taskFixture struct {
	cfg    *plugins.TaskConfig
	stdout *logReader
	stderr *logReader
}

func (e *testEnv) newTask(name string, task map[string]cty.Value) *taskFixture {
	e.t.Helper()
	allocDir := e.t.TempDir()
	for _, dir := range []string{"alloc/logs", name + "/local", name + "/secrets"} {
		if err := os.MkdirAll(filepath.Join(allocDir, dir), 0o777); err != nil {
			e.t.Fatal(err)
		}
	}
	logDir := filepath.Join(allocDir, "alloc/logs")
	cfg := &plugins.TaskConfig{
		ID:           fmt.Sprintf("alloc-%s/%s/%08x", name, name, uint32(time.Now().UnixNano())),
		Name:         name,
		AllocID:      "alloc-" + name,
		NodeID:       e.nodeID,
		DriverConfig: encodeCty(e.t, task),
		Env:          map[string]string{"NOMAD_TASK_NAME": name},
		AllocDir:     allocDir,
		StdoutPath:   filepath.Join(logDir, "."+name+".stdout.fifo"),
		StderrPath:   filepath.Join(logDir, "."+name+".stderr.fifo"),
	}
	return &taskFixture{
		cfg:    cfg,
		stdout: &logReader{t: e.t, notifier: e.logs, dir: logDir, base: name + ".stdout"},
		stderr: &logReader{t: e.t, notifier: e.logs, dir: logDir, base: name + ".stderr"},
	}
}

// logNotifier wakes the waiting logReaders each time a driver of the
// environment saves a log position.
type logNotifier struct {
	mu sync.Mutex
	ch chan struct{}
}

// changed returns a channel that is closed at the next saved position.
func (n *logNotifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *logNotifier) signal(string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}

// logReader reads one stream's rotated log files, in index order, as
// `nomad alloc logs` does.
type logReader struct {
	t        *testing.T
	notifier *logNotifier
	dir      string
	base     string
}

func (r *logReader) String() string {
	r.t.Helper()
	indexes, err := logIndexes(r.dir, r.base)
	if err != nil {
		r.t.Fatal(err)
	}
	var out strings.Builder
	for _, i := range indexes {
		data, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("%s.%d", r.base, i)))
		if err != nil {
			r.t.Fatal(err)
		}
		out.Write(data)
	}
	return out.String()
}

// waitFor waits until the output contains want, and fails the test after
// timeout.
func (r *logReader) waitFor(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		changed := r.notifier.changed()
		if strings.Contains(r.String(), want) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("output %q does not contain %q after %s", r.String(), want, timeout)
		}
	}
}

// waitExit calls WaitTask with a deadline.
func waitExit(t *testing.T, d *Driver, taskID string) *plugins.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	result, err := d.WaitTask(ctx, taskID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	return result
}

// detach stops a driver's goroutines without touching its containers, as
// when the plugin process dies.
func detach(d *Driver) {
	d.tasks.mu.Lock()
	defer d.tasks.mu.Unlock()
	for id, h := range d.tasks.tasks {
		h.cancel()
		<-h.logsDone
		delete(d.tasks.tasks, id)
	}
}

func isRecoverable(err error) bool {
	var recoverable *plugins.RecoverableError
	return errors.As(err, &recoverable)
}

// manualClock fires After at once, ticks only when the test sends on ticks,
// and runs ahead of the wall clock by what advance added.
type manualClock struct {
	ticks chan time.Time

	mu     sync.Mutex
	offset time.Duration
}

func newManualClock() *manualClock { return &manualClock{ticks: make(chan time.Time)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func (c *manualClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Now()
	return ch
}
func (c *manualClock) NewTicker(time.Duration) ticker { return manualTicker{c.ticks} }

type manualTicker struct{ ch chan time.Time }

func (t manualTicker) C() <-chan time.Time { return t.ch }
func (t manualTicker) Stop()               {}
