package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/footage"
)

// Images the suite runs. The motion image comes from make image; the
// busybox image is built here from the host's static busybox.
const (
	motionImage  = "ferry/motion-detect:0.1"
	busyboxImage = "ferry-e2e/busybox:test"
)

// testCluster is the cluster shared by every test: edge-1 holds camera
// north-gate, edge-2 holds south-gate.
var testCluster *cluster.Cluster

// repoRoot is the checkout's root, the parent of this package's folder.
var repoRoot string

// videoPlugin and cameraRecordings are the plugin binary and the two
// recordings (north-gate, south-gate) of the shared cluster, for tests that
// start a cluster of their own.
var (
	videoPlugin      string
	cameraRecordings []string
)

func TestMain(m *testing.M) {
	nomad, err := cluster.FindNomad()
	if err != nil {
		fmt.Printf("e2e: skipped the Nomad end-to-end tests: %v\n", err)
		os.Exit(0)
	}

	code, err := runSuite(m, nomad)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runSuite prepares the components, starts the shared cluster, runs the
// tests and stops the cluster. A missing component other than Nomad skips
// the suite, except under CI=true where it fails.
func runSuite(m *testing.M, nomad string) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	repoRoot = filepath.Dir(wd)

	work, err := os.MkdirTemp("", "ferry-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)

	if missing := missingComponent(); missing != "" {
		if os.Getenv("CI") == "true" {
			return 0, fmt.Errorf("missing component: %s", missing)
		}
		fmt.Printf("e2e: skipped the Nomad end-to-end tests: %s\n", missing)
		return 0, nil
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	// VIDEO_PLUGIN names a prebuilt plugin binary, such as bin/plugins/video.
	plugin := os.Getenv("VIDEO_PLUGIN")
	if plugin == "" {
		plugin = filepath.Join(work, "video")
		if out, err := goBuild(ctx, plugin, "./plugins/cmd/video"); err != nil {
			return 0, fmt.Errorf("build video plugin: %w: %s", err, out)
		}
	}
	if err := buildBusyboxImage(ctx, work); err != nil {
		return 0, err
	}
	src, err := footage.Find(ctx, repoRoot, filepath.Join(repoRoot, ".cache", "footage"))
	if err != nil {
		return 0, err
	}
	recordings, err := footage.Split(ctx, src, filepath.Join(work, "recordings"))
	if err != nil {
		return 0, err
	}

	videoPlugin, cameraRecordings = plugin, recordings[:]
	testCluster, err = cluster.Start(ctx, cluster.Config{
		Nomad:       nomad,
		VideoPlugin: plugin,
		Dir:         filepath.Join(work, "cluster"),
		Clients: []cluster.ClientSpec{
			{Name: "edge-1", Cameras: map[string][]string{"north-gate": {recordings[0]}}},
			{Name: "edge-2", Cameras: map[string][]string{"south-gate": {recordings[1]}}},
		},
	})
	if err != nil {
		return 0, fmt.Errorf("start cluster: %w", err)
	}

	code := m.Run()
	if err := testCluster.Stop(); err != nil {
		return code, fmt.Errorf("stop cluster: %w", err)
	}
	return code, nil
}

// missingComponent names the first tool or image the suite needs that is
// absent, or returns "".
func missingComponent() string {
	for _, tool := range []string{"docker", "ffmpeg", "busybox"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found in PATH (install docker.io, ffmpeg and busybox-static)"
		}
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		return "docker info failed, start dockerd: " + firstLine(string(out))
	}
	if err := exec.Command("docker", "image", "inspect", motionImage).Run(); err != nil {
		return "image " + motionImage + " not found (run make image)"
	}
	return ""
}

func goBuild(ctx context.Context, out, pkg string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	output, err := cmd.CombinedOutput()
	return string(output), err
}

// buildBusyboxImage imports a one-file image with the host's static busybox
// and its applet links, so that tests can run a shell in a task without any
// registry.
func buildBusyboxImage(ctx context.Context, work string) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return err
	}
	rootfs := filepath.Join(work, "busybox-rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-L", busybox, filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy busybox: %w: %s", err, out)
	}
	for _, applet := range []string{"sh", "sleep", "echo", "cat", "ls", "hostname"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			return err
		}
	}

	script := fmt.Sprintf("tar -C %q -c . | docker import -c 'CMD [\"/bin/sh\"]' - %s", rootfs, busyboxImage)
	if out, err := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", script).CombinedOutput(); err != nil {
		return fmt.Errorf("import image %s: %w: %s", busyboxImage, err, out)
	}
	return nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
