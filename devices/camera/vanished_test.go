package camera_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// usbCameraFixture builds a sysfs class folder with one UVC capture node,
// video0, and a dev folder with its node, a copy of /dev/null. It returns
// the sysfs root, the dev root and the node's path.
func usbCameraFixture(t *testing.T) (string, string, string) {
	t.Helper()
	root := t.TempDir()
	sysfsRoot := filepath.Join(root, "sys", "class", "video4linux")
	devRoot := filepath.Join(root, "dev")
	entry := filepath.Join(root, "sys", "devices", "pci0000:00", "0000:00:14.0", "usb1", "1-2", "1-2:1.0", "video4linux", "video0")
	for _, dir := range []string{sysfsRoot, devRoot, entry} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, data := range map[string]string{"name": "HD Pro Webcam C920\n", "index": "0\n"} {
		if err := os.WriteFile(filepath.Join(entry, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("../..", filepath.Join(entry, "device")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(entry, filepath.Join(sysfsRoot, "video0")); err != nil {
		t.Fatal(err)
	}
	node := filepath.Join(devRoot, "video0")
	if err := syscall.Mknod(node, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatalf("mknod %s (run the tests as root): %v", node, err)
	}
	return sysfsRoot, devRoot, node
}

// TestStartTaskDeviceNodeVanished reserves a local camera, removes its
// device node, and checks that StartTask fails with an error that names
// the node and leaves no container.
func TestStartTaskDeviceNodeVanished(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sysfsRoot, devRoot, node := usbCameraFixture(t)

	device, err := harness.LaunchDevice(cameraBinary(), nil, nil)
	if err != nil {
		t.Fatalf("LaunchDevice: %v", err)
	}
	defer device.Close()
	config := fmt.Sprintf("sysfs_root = %q\ndev_root = %q\n", sysfsRoot, devRoot)
	if err := device.SetConfigHCL(ctx, []byte(config), "camera.hcl"); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	stream, err := device.Device.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	groups, err := stream.Recv()
	if err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	if len(groups) != 1 || len(groups[0].Devices) != 1 {
		t.Fatalf("fingerprint = %+v, want one camera", groups)
	}
	id := groups[0].Devices[0].ID
	res, err := device.Device.Reserve(ctx, []string{id})
	if err != nil {
		t.Fatalf("Reserve %q: %v", id, err)
	}
	if len(res.Devices) != 1 || res.Devices[0].HostPath != node {
		t.Fatalf("reserved devices = %+v, want %s", res.Devices, node)
	}
	if err := os.Remove(node); err != nil {
		t.Fatal(err)
	}

	driver, err := harness.Launch(installPlugin(t, t.TempDir(), "video"), nil, nil)
	if err != nil {
		t.Fatalf("launch video driver: %v", err)
	}
	defer driver.Close()
	if err := driver.SetConfigHCL(ctx, nil, "video.hcl", &plugins.AgentConfig{ClientMinPort: 14000, ClientMaxPort: 14512}); err != nil {
		t.Fatalf("video SetConfig: %v", err)
	}
	caps, err := driver.Driver.Capabilities(ctx)
	if err != nil {
		t.Fatalf("Capabilities: %v", err)
	}
	alloc, err := harness.NewAllocDirFor(t.TempDir(), "capture", caps)
	if err != nil {
		t.Fatalf("NewAllocDir: %v", err)
	}
	defer alloc.Close()
	data, err := driver.EncodeTaskConfig(ctx, []byte(fmt.Sprintf("image = %q\nentrypoint = [\"/usr/bin/ffmpeg\"]\nargs = [\"-version\"]\n", readerImage)), "task.hcl")
	if err != nil {
		t.Fatalf("EncodeTaskConfig: %v", err)
	}
	cfg := alloc.TaskConfig(data)
	cfg.DeviceEnv = res.Envs
	for _, d := range res.Devices {
		cfg.Devices = append(cfg.Devices, plugins.Device{TaskPath: d.TaskPath, HostPath: d.HostPath, Permissions: d.Permissions})
	}

	_, _, err = driver.Driver.StartTask(ctx, cfg)
	if err == nil {
		driver.Driver.DestroyTask(context.WithoutCancel(ctx), cfg.ID, true)
		t.Fatal("StartTask succeeded with a removed device node")
	}
	t.Logf("StartTask error: %v", err)
	if !strings.Contains(err.Error(), "not found on the host") || !strings.Contains(err.Error(), "reconnect the device") {
		t.Errorf("StartTask error %q does not say that the device is gone and what to do", err)
	}
	if !strings.Contains(err.Error(), node) {
		t.Errorf("StartTask error %q does not name the device node %s", err, node)
	}
	if !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("StartTask error %q does not say that the node is missing", err)
	}
	out, psErr := exec.Command("docker", "ps", "-aq", "--filter", "label=com.ferry-video.alloc_id="+alloc.AllocID).CombinedOutput()
	if psErr != nil {
		t.Fatalf("docker ps: %v\n%s", psErr, out)
	}
	if ids := strings.Fields(string(out)); len(ids) != 0 {
		t.Errorf("containers left for alloc %s: %v", alloc.AllocID, ids)
	}
}
