package video_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

const (
	registryBinary = "/usr/bin/docker-registry"
	registryUser   = "ferry-test"
)

// testRegistry is a docker-registry process on loopback with htpasswd auth,
// holding one pushed image.
type testRegistry struct {
	addr     string
	password string
	image    string
}

// startRegistry serves Debian's docker-registry on 127.0.0.1 from a temp
// dir and pushes a busybox image with a layer unique to this run, so that a
// pull downloads it. It reports false when a component is missing outside
// CI.
func startRegistry(t *testing.T) (*testRegistry, bool) {
	t.Helper()
	for _, tool := range []string{registryBinary, "htpasswd", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: install Debian's docker-registry, apache2-utils and docker.io", tool)
			}
			t.Logf("registry tests not run: %s not found (install Debian's docker-registry and apache2-utils)", tool)
			return nil, false
		}
	}

	dir := t.TempDir()
	reg := &testRegistry{password: "pw-" + randomHex(t, 12)}
	reg.addr = freeLoopbackAddr(t)
	reg.image = reg.addr + "/ferry-test/busybox:1"

	htpasswd := exec.Command("htpasswd", "-B", "-i", "-c", filepath.Join(dir, "htpasswd"), registryUser)
	htpasswd.Stdin = strings.NewReader(reg.password)
	if out, err := htpasswd.CombinedOutput(); err != nil {
		t.Fatalf("htpasswd: %v: %s", err, out)
	}
	config := fmt.Sprintf(`version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: ferry-test
    path: %s
`, filepath.Join(dir, "data"), reg.addr, filepath.Join(dir, "htpasswd"))
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(registryBinary, "serve", configPath)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitListening(t, stderr, reg.addr)

	reg.push(t, dir)
	return reg, true
}

// waitListening reads the registry's log until it reports listening on addr,
// then discards the rest.
func waitListening(t *testing.T, stderr io.Reader, addr string) {
	t.Helper()
	ready := make(chan struct{})
	go func() {
		scanner := bufio.NewScanner(stderr)
		listening := false
		for scanner.Scan() {
			if !listening && strings.Contains(scanner.Text(), "listening on "+addr) {
				listening = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("docker-registry did not listen on %s within 30s", addr)
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// push builds the image into dockerd, logs in with a Docker CLI config in
// dir, pushes the image and removes it locally again.
func (r *testRegistry) push(t *testing.T, dir string) {
	t.Helper()
	t.Cleanup(func() { removeImage(t, r.image) })
	if err := importUniqueBusybox(r.image); err != nil {
		t.Fatalf("build %s: %v", r.image, err)
	}

	dockerConfig := filepath.Join(dir, "docker-config")
	login := exec.Command("docker", "--config", dockerConfig, "login", "--username", registryUser, "--password-stdin", r.addr)
	login.Stdin = strings.NewReader(r.password)
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("docker login %s: %v: %s", r.addr, err, out)
	}
	push := exec.Command("docker", "--config", dockerConfig, "push", r.image)
	if out, err := push.CombinedOutput(); err != nil {
		t.Fatalf("docker push %s: %v: %s", r.image, err, out)
	}
	removeImage(t, r.image)
}

// importUniqueBusybox imports /bin/busybox and a file of random bytes as
// ref, so that its layer exists nowhere else.
func importUniqueBusybox(ref string) error {
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	unique := make([]byte, 1<<20)
	if _, err := rand.Read(unique); err != nil {
		return err
	}

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		data []byte
	}{{"bin/busybox", busybox}, {"unique", unique}}
	if err := tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		return err
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	for _, tool := range []string{"sh", "echo"} {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + tool, Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}

	body, err := conformance.docker.ImageImport(context.Background(), image.ImportSource{Source: &buf, SourceName: "-"}, ref, image.ImportOptions{
		Changes: []string{"LABEL com.ferry-video.test=1", `CMD ["/bin/sh"]`, "ENV PATH=/bin"},
	})
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

func removeImage(t *testing.T, ref string) {
	_, err := conformance.docker.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !strings.Contains(err.Error(), "No such image") {
		t.Errorf("remove image %s: %v", ref, err)
	}
}

func registryTaskHCL(ref, password string) string {
	return fmt.Sprintf(`image      = %q
force_pull = true
command    = "/bin/sh"
args       = ["-c", "echo pulled-and-ran"]
auth {
  username = %q
  password = %q
}
`, ref, registryUser, password)
}

func TestConformanceRegistryPull(t *testing.T) {
	reg, ok := startRegistry(t)
	if !ok {
		return
	}
	p := launchVideo(t)
	events, err := p.Driver.TaskEvents(testContext(t, 5*time.Minute))
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}

	alloc, cfg, handle := p.startTask(t, "pull", registryTaskHCL(reg.image, reg.password))
	result := waitExit(t, p, cfg.ID, time.Minute)
	if result.ExitCode != 0 {
		t.Errorf("exit = %+v, want exit code 0", result)
	}
	waitLog(t, alloc.Stdout, "pulled-and-ran")

	messages := taskMessages(t, events, cfg.ID, "Downloaded image")
	progress := ""
	for _, msg := range messages {
		if strings.Contains(msg, reg.image) && strings.Contains(msg, "MiB downloaded") {
			progress = msg
		}
	}
	if progress == "" {
		t.Errorf("task events %q have no pull progress for %s", messages, reg.image)
	}
	t.Logf("pull progress event: %s", progress)
	if !strings.Contains(progress, "1 layers") {
		t.Errorf("pull progress %q, want 1 layers", progress)
	}
	// The secret check means something only if the plugin's log arrived.
	checkMessage(t, p.log.String(), []string{"started container", reg.image})
	checkNoSecret(t, reg.password, p.log.String(), strings.Join(messages, "\n"))

	// The driver pulled this image, so it removes it once no task uses it.
	if !strings.Contains(string(handle.DriverState), `"pulled_image":true`) {
		t.Errorf("driver state %s does not record the pull", handle.DriverState)
	}
	if err := p.Driver.DestroyTask(testContext(t, time.Minute), cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	waitImageRemoved(t, reg.image, time.Minute)
}

// waitImageRemoved polls dockerd until ref is gone or timeout passes.
func waitImageRemoved(t *testing.T, ref string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		_, err := conformance.docker.ImageInspect(context.Background(), ref)
		if client.IsErrNotFound(err) {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("image %s still present %s after its task was destroyed (inspect error: %v)", ref, timeout, err)
		case <-poll.C:
		}
	}
}

func TestConformanceRegistryWrongPassword(t *testing.T) {
	reg, ok := startRegistry(t)
	if !ok {
		return
	}
	p := launchVideo(t)
	events, err := p.Driver.TaskEvents(testContext(t, 5*time.Minute))
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}

	wrong := "wrong-" + reg.password
	alloc, cfg := p.newTask(t, "pull", registryTaskHCL(reg.image, wrong))
	_, _, err = p.Driver.StartTask(testContext(t, time.Minute), cfg)
	if err == nil {
		t.Fatalf("StartTask with a wrong password succeeded, want an error")
	}
	if !plugins.IsRecoverable(err) {
		t.Errorf("StartTask error %q is not recoverable", err)
	}
	checkMessage(t, err.Error(), []string{"failed to pull image", reg.image, "auth block"})
	if left := containers(t, alloc.AllocID); len(left) != 0 {
		t.Errorf("containers after failed pull = %d, want 0", len(left))
	}

	messages := taskMessages(t, events, cfg.ID, "Downloading image")
	checkNoSecret(t, wrong, p.log.String(), strings.Join(messages, "\n"), err.Error())
}

// taskMessages returns the messages of taskID's events up to and including
// the first that contains last.
func taskMessages(t *testing.T, events *plugins.ClientStream[*plugins.TaskEvent], taskID, last string) []string {
	t.Helper()
	var messages []string
	for {
		ev, err := events.Recv()
		if err != nil {
			t.Fatalf("TaskEvents after %q: %v", messages, err)
		}
		if ev.TaskID != taskID {
			continue
		}
		messages = append(messages, ev.Message)
		if strings.Contains(ev.Message, last) {
			return messages
		}
	}
}

func checkNoSecret(t *testing.T, secret string, texts ...string) {
	t.Helper()
	for i, text := range texts {
		if strings.Contains(text, secret) {
			t.Errorf("text %d contains the registry password: %q", i, text)
		}
	}
}
