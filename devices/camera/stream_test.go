package camera_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// readerImage is the sample motion-detect image. The tests run its ffmpeg
// through the video driver's entrypoint option, because the image has no
// shell and its own entrypoint is the motion detector.
const readerImage = "ferry/motion-detect:0.1"

// TestStreamProbeReserveRead serves footage over RTSP on loopback. The
// plugin must probe it healthy, and a container started by the video
// driver must read frames from the URL that Reserve returns. Stopping the
// server must turn the camera unhealthy on the next probe.
func TestStreamProbeReserveRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	server := startRTSPServer(t)

	t.Run("clients in turn", func(t *testing.T) {
		for i := 0; i < 2; i++ {
			out, err := readFrames(ctx, server.URL, 5)
			if err != nil {
				t.Fatalf("client %d: ffmpeg: %v\n%s", i, err, out)
			}
			if !strings.Contains(out, "frame=") {
				t.Errorf("client %d: no frame count in ffmpeg output:\n%s", i, out)
			}
		}
	})

	device, err := harness.LaunchDevice(cameraBinary(), nil, nil)
	if err != nil {
		t.Fatalf("LaunchDevice: %v", err)
	}
	defer device.Close()
	config := fmt.Sprintf(`
sysfs_root         = %q
fingerprint_period = "1s"
probe_timeout      = "2s"
ip_camera {
  id       = "gate-1"
  rtsp_url = %q
  location = "5th-and-main"
}
`, t.TempDir(), server.URL)
	if err := device.SetConfigHCL(ctx, []byte(config), "camera.hcl"); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	stream, err := device.Device.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	if healthy, desc := gateHealth(t, stream); !healthy {
		t.Fatalf("gate-1 unhealthy with the server up: %s", desc)
	}

	res, err := device.Device.Reserve(ctx, []string{"gate-1"})
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	url := res.Envs["FERRY_CAMERA_GATE_1_URL"]
	if url != server.URL {
		t.Fatalf("FERRY_CAMERA_GATE_1_URL = %q, want %q", url, server.URL)
	}

	t.Run("container reads frames", func(t *testing.T) {
		stderr, exit := runReader(ctx, t, res, url)
		if exit.ExitCode != 0 {
			t.Errorf("exit code = %d, want 0; stderr:\n%s", exit.ExitCode, stderr)
		}
		if !strings.Contains(stderr, "frame=   10") && !strings.Contains(stderr, "frame=10") {
			t.Errorf("stderr does not report 10 frames:\n%s", stderr)
		}
	})

	server.Stop()
	if healthy, desc := gateHealth(t, stream); healthy {
		t.Errorf("gate-1 still healthy after the server stopped: %s", desc)
	} else if !strings.Contains(desc, "unreachable") {
		t.Errorf("health description = %q, want it to say the server is unreachable", desc)
	}
}

// deviceStream is the fingerprint stream of a launched device plugin.
type deviceStream interface {
	Recv() ([]*plugins.DeviceGroup, error)
}

// gateHealth reads the next fingerprint and returns gate-1's health.
func gateHealth(t *testing.T, stream deviceStream) (bool, string) {
	t.Helper()
	groups, err := stream.Recv()
	if err != nil {
		t.Fatalf("fingerprint: %v", err)
	}
	for _, group := range groups {
		for _, dev := range group.Devices {
			if dev.ID == "gate-1" {
				return dev.Healthy, dev.HealthDescription
			}
		}
	}
	t.Fatalf("no gate-1 in fingerprint %+v", groups)
	return false, ""
}

// runReader starts ffmpeg in a container through the video driver with
// the reservation's environment, reading 10 frames from url, and returns
// its stderr and exit result.
func runReader(ctx context.Context, t *testing.T, res *plugins.ContainerReservation, url string) (string, *plugins.ExitResult) {
	t.Helper()
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
	alloc, err := harness.NewAllocDirFor(t.TempDir(), "reader", caps)
	if err != nil {
		t.Fatalf("NewAllocDir: %v", err)
	}
	defer alloc.Close()
	taskHCL := fmt.Sprintf(`
image        = %q
entrypoint   = ["/usr/bin/ffmpeg"]
network_mode = "host"
args         = ["-hide_banner", "-nostdin", "-rtsp_transport", "tcp", "-i", %q, "-frames:v", "10", "-f", "null", "-"]
`, readerImage, url)
	data, err := driver.EncodeTaskConfig(ctx, []byte(taskHCL), "task.hcl")
	if err != nil {
		t.Fatalf("EncodeTaskConfig: %v", err)
	}
	cfg := alloc.TaskConfig(data)
	cfg.DeviceEnv = res.Envs
	if _, _, err := driver.Driver.StartTask(ctx, cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	defer driver.Driver.DestroyTask(context.WithoutCancel(ctx), cfg.ID, true)

	result, err := driver.Driver.WaitTask(ctx, cfg.ID)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := alloc.Stderr.WaitFor(waitCtx, "frame="); err != nil {
		t.Errorf("no frame count in the task's stderr: %v", err)
	}
	return alloc.Stderr.String(), result
}
