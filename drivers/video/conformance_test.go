package video_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/drivers/video"
	"github.com/ferry-video/ferry/e2e/footage"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

const (
	motionImage = "ferry/motion-detect:0.1"
	cameraID    = "north-gate"
)

// conformance is the state that TestMain prepares once for all conformance
// tests.
var conformance struct {
	repoRoot  string
	binary    string
	storage   string
	allowed   string
	recording int64
	docker    *client.Client
	tempDir   string
}

func TestMain(m *testing.M) {
	code := 1
	if err := setUpConformance(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance setup:", err)
	} else {
		code = m.Run()
	}
	if conformance.tempDir != "" {
		os.RemoveAll(conformance.tempDir)
	}
	os.Exit(code)
}

// setUpConformance builds the plugin binary and the images and prepares a
// camera storage root that contains the camera north-gate with one real
// recording.
func setUpConformance() error {
	ctx := context.Background()
	root, err := filepath.Abs("../..")
	if err != nil {
		return err
	}
	conformance.repoRoot = root
	if conformance.tempDir, err = os.MkdirTemp("", "video-conformance"); err != nil {
		return err
	}
	// The motion image runs as an unprivileged user, so the recordings and
	// their folders must be readable by others.
	if err := os.Chmod(conformance.tempDir, 0o755); err != nil {
		return err
	}

	conformance.binary = filepath.Join(conformance.tempDir, video.PluginName)
	if err := run(root, "go", "build", "-o", conformance.binary, "./plugins/cmd/video"); err != nil {
		return fmt.Errorf("build the video plugin: %w", err)
	}

	if conformance.docker, err = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation()); err != nil {
		return fmt.Errorf("create Docker client: %w", err)
	}
	if _, err := conformance.docker.Ping(ctx); err != nil {
		return fmt.Errorf("dockerd is not reachable at %s (start dockerd to run these tests): %w", conformance.docker.DaemonHost(), err)
	}
	if err := video.ImportTestImage(conformance.docker); err != nil {
		return fmt.Errorf("build test image %s: %w", video.TestImage, err)
	}
	if _, err := conformance.docker.ImageInspect(ctx, motionImage); client.IsErrNotFound(err) {
		if err := run(root, "jobspecs/motion/build-image.sh", motionImage); err != nil {
			return fmt.Errorf("build %s: %w", motionImage, err)
		}
	} else if err != nil {
		return fmt.Errorf("inspect %s: %w", motionImage, err)
	}
	return prepareStorage(ctx, root)
}

func prepareStorage(ctx context.Context, root string) error {
	conformance.storage = filepath.Join(conformance.tempDir, "storage")
	conformance.allowed = filepath.Join(conformance.tempDir, "allowed")
	cameraDir := filepath.Join(conformance.storage, cameraID)
	for _, dir := range []string{cameraDir, conformance.allowed} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}

	src, err := footage.Find(ctx, root, filepath.Join(root, ".cache", "footage"))
	if err != nil {
		return err
	}
	dst := filepath.Join(cameraDir, "vtest.avi")
	if err := os.Link(src, dst); err != nil {
		if err := copyFile(src, dst); err != nil {
			return fmt.Errorf("copy recording %q: %w", src, err)
		}
	}
	info, err := os.Stat(dst)
	if err != nil {
		return err
	}
	if info.Mode().Perm()&0o004 == 0 {
		return fmt.Errorf("recording %q is not readable by others, which the motion image needs", src)
	}
	conformance.recording = info.Size()
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func run(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func testContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer collects the plugin's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// videoPlugin is a launched video plugin with its capabilities and log.
type videoPlugin struct {
	*harness.Plugin
	caps plugins.Capabilities
	log  *syncBuffer
}

// agentHCL is the body of the agent's plugin "video" config block.
func agentHCL() []byte {
	return []byte(fmt.Sprintf(`
camera_storage     = [%q]
allowed_host_paths = [%q]
allow_privileged   = false
pull_timeout       = "2m"
gc {
  image       = true
  image_delay = "1s"
}
`, conformance.storage, conformance.allowed))
}

// launchVideo starts the plugin binary as Nomad does and sets its config.
func launchVideo(t *testing.T) *videoPlugin {
	t.Helper()
	log := &syncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "video", Level: hclog.Trace, Output: log})
	p, err := harness.Launch(conformance.binary, nil, logger)
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	t.Cleanup(p.Close)
	vp := &videoPlugin{Plugin: p, log: log}
	vp.configure(t)
	return vp
}

// configure sends SetConfig and reads the capabilities, as Nomad does after
// every launch.
func (p *videoPlugin) configure(t *testing.T) {
	t.Helper()
	ctx := testContext(t, 30*time.Second)
	if err := p.SetConfigHCL(ctx, agentHCL(), "agent.hcl", &plugins.AgentConfig{ClientMinPort: 14000, ClientMaxPort: 14512}); err != nil {
		t.Fatalf("SetConfigHCL: %v", err)
	}
	caps, err := p.Driver.Capabilities(ctx)
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	p.caps = caps
}

// newTask encodes taskHCL against the plugin's TaskConfigSchema and returns a
// task config in a fresh alloc dir, with its log readers.
func (p *videoPlugin) newTask(t *testing.T, name, taskHCL string) (*harness.AllocDir, *plugins.TaskConfig) {
	t.Helper()
	alloc, err := harness.NewAllocDirFor(t.TempDir(), name, p.caps)
	if err != nil {
		t.Fatalf("NewAllocDirFor: %v", err)
	}
	t.Cleanup(alloc.Close)
	data, err := p.EncodeTaskConfig(testContext(t, 30*time.Second), []byte(taskHCL), "task.hcl")
	if err != nil {
		t.Fatalf("EncodeTaskConfig: %v", err)
	}
	cfg := alloc.TaskConfig(data)
	cfg.NodeID = "conformance-node"
	cfg.Resources.MemoryMB = 512
	cfg.Resources.MemoryLimitBytes = 512 << 20
	t.Cleanup(func() { removeContainers(t, alloc.AllocID) })
	return alloc, cfg
}

// startTask starts taskHCL and destroys the task when the test ends.
func (p *videoPlugin) startTask(t *testing.T, name, taskHCL string) (*harness.AllocDir, *plugins.TaskConfig, *plugins.TaskHandle) {
	t.Helper()
	alloc, cfg := p.newTask(t, name, taskHCL)
	handle, _, err := p.Driver.StartTask(testContext(t, 3*time.Minute), cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { p.Driver.DestroyTask(context.Background(), cfg.ID, true) })
	return alloc, cfg, handle
}

// containers returns the containers labelled with allocID.
func containers(t *testing.T, allocID string) []container.Summary {
	t.Helper()
	list, err := conformance.docker.ContainerList(context.Background(), container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", video.LabelAllocID+"="+allocID)),
	})
	if err != nil {
		t.Fatalf("list containers of alloc %s: %v", allocID, err)
	}
	return list
}

func removeContainers(t *testing.T, allocID string) {
	for _, c := range containers(t, allocID) {
		err := conformance.docker.ContainerRemove(context.Background(), c.ID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			t.Errorf("remove container %s: %v", c.ID, err)
		}
	}
}

// waitExit calls WaitTask with a deadline.
func waitExit(t *testing.T, p *videoPlugin, taskID string, timeout time.Duration) *plugins.ExitResult {
	t.Helper()
	result, err := p.Driver.WaitTask(testContext(t, timeout), taskID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	return result
}

// waitLog waits until the stream contains want.
func waitLog(t *testing.T, r *harness.LogReader, want string) {
	t.Helper()
	if err := r.WaitFor(testContext(t, 30*time.Second), want); err != nil {
		t.Fatalf("log: %v", err)
	}
}

func shellHCL(script string) string {
	return fmt.Sprintf("image = %q\ncommand = \"/bin/sh\"\nargs = [\"-c\", %q]\n", video.TestImage, script)
}

func TestConformancePluginInfo(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	p := launchVideo(t)

	info, versions, err := p.Base.PluginInfo(ctx)
	if err != nil {
		t.Fatalf("PluginInfo: %v", err)
	}
	if info.Name != "video" {
		t.Errorf("PluginInfo name = %q, want video", info.Name)
	}
	if info.Type != plugins.PluginTypeDriver {
		t.Errorf("PluginInfo type = %v, want %v", info.Type, plugins.PluginTypeDriver)
	}
	if len(versions) != 1 || versions[0] != "v0.1.0" {
		t.Errorf("API versions = %v, want [v0.1.0]", versions)
	}

	spec, err := p.Base.ConfigSchema(ctx)
	if err != nil {
		t.Fatalf("ConfigSchema: %v", err)
	}
	for _, field := range []string{"endpoint", "camera_storage", "allowed_host_paths", "allow_privileged", "gc", "pull_timeout"} {
		if spec == nil || spec.Object == nil || spec.Object.Attributes[field] == nil {
			t.Errorf("ConfigSchema has no field %q", field)
		}
	}
	if !p.caps.DisableLogCollection {
		t.Errorf("Capabilities DisableLogCollection = false, want true (the plugin writes Nomad's rotated log files)")
	}
	taskSpec, err := p.Driver.TaskConfigSchema(ctx)
	if err != nil {
		t.Fatalf("TaskConfigSchema: %v", err)
	}
	for _, field := range []string{"image", "cameras", "args", "auth", "force_pull"} {
		if taskSpec == nil || taskSpec.Object == nil || taskSpec.Object.Attributes[field] == nil {
			t.Errorf("TaskConfigSchema has no field %q", field)
		}
	}
}

func TestConformanceFirstFingerprint(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	p := launchVideo(t)
	stream, err := p.Driver.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	fp, err := stream.Recv()
	if err != nil {
		t.Fatalf("first fingerprint: %v", err)
	}
	if fp.Health != plugins.HealthHealthy {
		t.Errorf("health = %v (%s), want healthy", fp.Health, fp.Description)
	}
	cameras := strings.Split(fp.Attributes["driver.video.cameras"].String, ",")
	if !contains(cameras, cameraID) {
		t.Errorf("driver.video.cameras = %q, want it to contain %q", fp.Attributes["driver.video.cameras"].String, cameraID)
	}
	size := fp.Attributes["driver.video.camera."+cameraID]
	if size.Int != conformance.recording {
		t.Errorf("driver.video.camera.%s = %+v, want %d bytes", cameraID, size, conformance.recording)
	}
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

func TestConformanceMotionDetect(t *testing.T) {
	p := launchVideo(t)
	taskHCL := fmt.Sprintf("image = %q\ncameras = [%q]\nargs = [\"/recordings/%s\"]\n", motionImage, cameraID, cameraID)
	alloc, cfg, handle := p.startTask(t, "motion", taskHCL)
	// The image was built on this node, so image GC must never remove it:
	// no registry could give it back.
	if strings.Contains(string(handle.DriverState), "pulled_image") {
		t.Errorf("driver state %s marks a local image as pulled", handle.DriverState)
	}

	result := waitExit(t, p, cfg.ID, 5*time.Minute)
	if result.ExitCode != 0 || result.Err != "" {
		t.Fatalf("exit = %+v, stderr %q, want exit code 0", result, alloc.Stderr.String())
	}
	waitLog(t, alloc.Stdout, "motion_events ")
	var events int
	for _, line := range strings.Split(alloc.Stdout.String(), "\n") {
		if n, err := fmt.Sscanf(line, "motion_events %d", &events); n == 1 && err == nil {
			break
		}
	}
	t.Logf("motion_events %d", events)
	logFile := filepath.Join(alloc.Dir, "alloc", "logs", "motion.stdout.0")
	if _, err := os.Stat(logFile); err != nil {
		t.Errorf("rotated log file: %v", err)
	}
	if events <= 0 {
		t.Errorf("motion_events = %d in output %q, want more than 0", events, alloc.Stdout.String())
	}
}
