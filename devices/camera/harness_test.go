package camera_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// TestHarnessFingerprintReserveStats launches the binary as Nomad does and
// runs the three device calls against one configured IP camera on a
// loopback port with no server, so it fingerprints as unhealthy.
func TestHarnessFingerprintReserveStats(t *testing.T) {
	p, err := harness.LaunchDevice(cameraBinary(), nil, nil)
	if err != nil {
		t.Fatalf("LaunchDevice: %v", err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	info, versions, err := p.Base.PluginInfo(ctx)
	if err != nil {
		t.Fatalf("PluginInfo: %v", err)
	}
	if info.Name != "camera" || info.Type != plugins.PluginTypeDevice {
		t.Errorf("info = %+v, want name camera and type device", info)
	}
	if len(versions) != 1 || versions[0] != plugins.APIVersion {
		t.Errorf("API versions = %v, want [%s]", versions, plugins.APIVersion)
	}

	creds := filepath.Join(t.TempDir(), "gate.credentials")
	if err := os.WriteFile(creds, []byte("password=secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`
sysfs_root = %q
probe_timeout = "2s"
ip_camera {
  id               = "gate-1"
  model            = "axis-p1375"
  rtsp_url         = "rtsp://127.0.0.1:1/live"
  credentials_file = %q
  location         = "5th-and-main"
  fps              = 25
}
`, t.TempDir(), creds)
	if err := p.SetConfigHCL(ctx, []byte(config), "camera.hcl"); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}

	t.Run("fingerprint", func(t *testing.T) {
		stream, err := p.Device.Fingerprint(ctx)
		if err != nil {
			t.Fatalf("Fingerprint: %v", err)
		}
		groups, err := stream.Recv()
		if err != nil {
			t.Fatalf("first fingerprint: %v", err)
		}
		if len(groups) != 1 || groups[0].Name != "axis-p1375" || groups[0].Vendor != "ferry" || groups[0].Type != "camera" {
			t.Fatalf("groups = %+v, want one ferry/camera/axis-p1375", groups)
		}
		dev := groups[0].Devices[0]
		if dev.ID != "gate-1" || dev.Healthy {
			t.Errorf("device = %+v, want gate-1 unhealthy", dev)
		}
		if got := groups[0].Attributes["fps"]; got.Int != 25 {
			t.Errorf("fps = %+v, want 25", got)
		}
	})
	t.Run("reserve", func(t *testing.T) {
		res, err := p.Device.Reserve(ctx, []string{"gate-1"})
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if got := res.Envs["FERRY_CAMERA_GATE_1_URL"]; got != "rtsp://127.0.0.1:1/live" {
			t.Errorf("url env = %q", got)
		}
		if len(res.Mounts) != 1 || res.Mounts[0].HostPath != creds || !res.Mounts[0].ReadOnly {
			t.Errorf("mounts = %+v, want the credentials file read-only", res.Mounts)
		}
		_, err = p.Device.Reserve(ctx, []string{"nope"})
		if err == nil || !strings.Contains(err.Error(), `unknown camera id "nope"`) {
			t.Errorf("Reserve of unknown id: error = %v", err)
		}
	})
	t.Run("stats", func(t *testing.T) {
		stream, err := p.Device.Stats(ctx, time.Second)
		if err != nil {
			t.Fatalf("Stats: %v", err)
		}
		groups, err := stream.Recv()
		if err != nil {
			t.Fatalf("first stats: %v", err)
		}
		if len(groups) != 1 {
			t.Fatalf("stats groups = %d, want 1", len(groups))
		}
		s, ok := groups[0].InstanceStats["gate-1"]
		if !ok {
			t.Fatalf("no stats for gate-1 in %+v", groups[0].InstanceStats)
		}
		if s.Summary == nil || s.Summary.Unit != "ms" {
			t.Errorf("summary = %+v, want the probe latency in ms", s.Summary)
		}
		if healthy := s.Stats.Attributes["healthy"]; healthy == nil || healthy.Bool {
			t.Errorf("healthy stat = %+v, want false", healthy)
		}
	})
	t.Run("local_camera fps", func(t *testing.T) {
		err := p.SetConfigHCL(ctx, []byte(`local_camera {
  match = "v4l-1_2_1_0-0"
  fps   = 0
}`), "camera.hcl")
		if err == nil || !strings.Contains(err.Error(), "invalid fps 0") {
			t.Fatalf("SetConfig error = %v, want invalid fps 0", err)
		}
		err = p.SetConfigHCL(ctx, []byte(`local_camera {
  match      = "v4l-1_2_1_0-0"
  resolution = "1280x720"
}`), "camera.hcl")
		if err != nil {
			t.Fatalf("SetConfig without fps: %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		err := p.SetConfigHCL(ctx, []byte(`ip_camera {
  id       = "x"
  rtsp_url = "rtsp://admin:hunter2@127.0.0.1/live"
}`), "camera.hcl")
		if err == nil || !strings.Contains(err.Error(), "credentials_file") {
			t.Fatalf("SetConfig error = %v, want a credentials_file hint", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q contains the password", err)
		}
	})
}
