package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// Names of the Docker objects the benchmark creates and removes.
const (
	benchImage     = "ferry-bench/busybox:bench"
	holderName     = "ferry-bench-image-holder"
	clientName     = "bench-1"
	benchLabel     = "ferry-bench=1"
	dockerDriver   = "docker"
	videoDriver    = "video"
	sleepJobspec   = "sleep.nomad.hcl"
	pluginFileName = "video"
)

// importImage imports a one-file image with the host's static busybox and
// its sleep applet, and creates a stopped container that uses it. The
// container keeps the image garbage collection of both drivers from
// removing the image between phases, because Docker does not remove an
// image that a container uses.
func importImage(ctx context.Context, work string) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox not found in PATH (install busybox-static): %w", err)
	}
	rootfs := filepath.Join(work, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "cp", "-L", busybox, filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy busybox: %w: %s", err, out)
	}
	for _, applet := range []string{"sh", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", applet)); err != nil {
			return err
		}
	}

	script := fmt.Sprintf("tar -C %q -c . | docker import -c 'LABEL %s' - %s", rootfs, benchLabel, benchImage)
	if out, err := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", script).CombinedOutput(); err != nil {
		return fmt.Errorf("import image %s: %w: %s", benchImage, err, out)
	}
	_ = exec.CommandContext(ctx, "docker", "rm", "-f", holderName).Run()
	out, err := exec.CommandContext(ctx, "docker", "create", "--name", holderName, "--label", benchLabel,
		benchImage, "/bin/sleep", "1").CombinedOutput()
	if err != nil {
		return fmt.Errorf("create container %s: %w: %s", holderName, err, out)
	}
	return nil
}

// removeImage removes every container made from the benchmark image,
// which carries the label benchLabel, then the image. Nomad removes a
// task's container only when it collects the allocation, which a stopped
// agent never does.
func removeImage() error {
	var msgs []string
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+benchLabel).Output()
	if err != nil {
		msgs = append(msgs, fmt.Sprintf("list containers with label %s: %v", benchLabel, err))
	}
	commands := [][]string{{"image", "rm", benchImage}}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		commands = append([][]string{append([]string{"rm", "-f"}, ids...)}, commands...)
	}
	for _, args := range commands {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			msgs = append(msgs, fmt.Sprintf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out))))
		}
	}
	if len(msgs) > 0 {
		return fmt.Errorf("remove benchmark image: %s", strings.Join(msgs, "; "))
	}
	return nil
}

// startCluster starts one server and one client that runs both the video
// driver and Nomad's built-in docker driver, and waits until both drivers
// are healthy.
func startCluster(ctx context.Context, nomad, plugin, work string) (*cluster.Cluster, error) {
	c, err := cluster.Start(ctx, cluster.Config{
		Nomad:       nomad,
		VideoPlugin: plugin,
		Dir:         filepath.Join(work, "cluster"),
		Clients:     []cluster.ClientSpec{{Name: clientName}},
	})
	if err != nil {
		return nil, err
	}
	if err := waitDocker(ctx, c); err != nil {
		return c, err
	}
	return c, nil
}

// waitDocker waits until the client's docker driver is detected and healthy.
func waitDocker(ctx context.Context, c *cluster.Cluster) error {
	client := c.Clients[0]
	var last cluster.DriverInfo
	err := cluster.Poll(ctx, "a healthy docker driver", func(ctx context.Context) (bool, error) {
		node, err := c.API.Node(ctx, client.NodeID)
		if err != nil {
			return false, err
		}
		last = node.Drivers[dockerDriver]
		return last.Detected && last.Healthy, nil
	})
	if err != nil {
		return fmt.Errorf("%w (docker driver: detected=%t healthy=%t %q)", err, last.Detected, last.Healthy, last.HealthDescription)
	}
	return nil
}

// pluginPID returns the id of the client's only video plugin process.
func pluginPID(agent *cluster.Agent) (int, error) {
	pids, err := agent.PluginPIDs()
	if err != nil {
		return 0, err
	}
	if len(pids) != 1 {
		return 0, fmt.Errorf("client %q runs %d video plugin processes, expected 1", agent.Name, len(pids))
	}
	return pids[0], nil
}

// readJobspec returns the text of a jobspec in testdata.
func readJobspec(dir, name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("read jobspec: %w (run the benchmark from the repository root or set -testdata)", err)
	}
	return string(data), nil
}
