package camera

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
)

func configFor(f fixture) *Config {
	return &Config{SysfsRoot: f.sysfsRoot, DevRoot: f.devRoot}
}

// newTestPlugin returns a plugin with cfg applied, the fallback capability
// check and a manual clock.
func newTestPlugin(t *testing.T, cfg *Config) *Plugin {
	t.Helper()
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate config: %v", err)
	}
	p := New(hclog.NewNullLogger())
	p.canCapture = noV4L2
	p.clock = newManualClock()
	p.config = cfg
	return p
}

func credentialsFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cam.credentials")
	writeFile(t, path, "user=viewer\npassword=secret-value\n")
	return path
}

func TestConfigValidateRejectsBadInput(t *testing.T) {
	creds := credentialsFile(t)
	cases := []struct {
		name    string
		cam     IPCamera
		wantErr string
	}{
		{"malformed url", IPCamera{ID: "c1", RTSPURL: "rtsp://[::1"}, "invalid rtsp_url"},
		{"http scheme", IPCamera{ID: "c1", RTSPURL: "http://127.0.0.1/live"}, "rtsp://host[:port]/path"},
		{"credentials in url", IPCamera{ID: "c1", RTSPURL: "rtsp://admin:pw@127.0.0.1/live"}, "set credentials_file instead"},
		{"missing host", IPCamera{ID: "c1", RTSPURL: "rtsp:///live"}, "missing host"},
		{"bad port", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1:99999/live"}, `invalid port "99999"`},
		{"missing credentials file", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1/live", CredentialsFile: "/nonexistent/creds"}, `missing credentials_file "/nonexistent/creds"`},
		{"relative credentials file", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1/live", CredentialsFile: "creds"}, "use an absolute path"},
		{"bad id", IPCamera{ID: "cam 1", RTSPURL: "rtsp://127.0.0.1/live"}, `invalid id "cam 1"`},
		{"bad resolution", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1/live", Resolution: "hd"}, `invalid resolution "hd"`},
		{"negative fps", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1/live", FPS: -1}, "invalid fps -1"},
		{"valid", IPCamera{ID: "c1", RTSPURL: "rtsp://127.0.0.1/live", CredentialsFile: creds, Resolution: "1920x1080"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cam := tc.cam
			cfg := &Config{IPCameras: []*IPCamera{&cam}}
			err := cfg.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q contains the URL's password", err)
			}
		})
	}
}

func TestConfigValidateDuplicateEnvPrefix(t *testing.T) {
	cfg := &Config{IPCameras: []*IPCamera{
		{ID: "gate-1", RTSPURL: "rtsp://127.0.0.1/a"},
		{ID: "gate_1", RTSPURL: "rtsp://127.0.0.1/b"},
	}}
	err := cfg.validate()
	if err == nil || !strings.Contains(err.Error(), "FERRY_CAMERA_GATE_1_") {
		t.Fatalf("error = %v, want a clash on FERRY_CAMERA_GATE_1_", err)
	}
}

func TestReserve(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam})
	creds := credentialsFile(t)
	cfg := configFor(f)
	cfg.IPCameras = []*IPCamera{
		{ID: "gate-1", RTSPURL: "rtsp://127.0.0.1:8554/gate", CredentialsFile: creds},
		{ID: "lobby", RTSPURL: "rtsp://127.0.0.1:8554/lobby"},
	}
	p := newTestPlugin(t, cfg)

	t.Run("local camera", func(t *testing.T) {
		res, err := p.Reserve([]string{"v4l-1_2_1_0-0"})
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		want := plugins.DeviceSpec{TaskPath: "/dev/video0", HostPath: filepath.Join(f.devRoot, "video0"), Permissions: "rw"}
		if len(res.Devices) != 1 || res.Devices[0] != want {
			t.Errorf("devices = %+v, want [%+v]", res.Devices, want)
		}
		if got := res.Envs["FERRY_CAMERA_V4L_1_2_1_0_0_DEVICE"]; got != "/dev/video0" {
			t.Errorf("device env = %q, want /dev/video0", got)
		}
	})
	t.Run("ip camera with credentials", func(t *testing.T) {
		res, err := p.Reserve([]string{"gate-1"})
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if got := res.Envs["FERRY_CAMERA_GATE_1_URL"]; got != "rtsp://127.0.0.1:8554/gate" {
			t.Errorf("url env = %q", got)
		}
		wantMount := plugins.DeviceMount{TaskPath: "/secrets/ferry/cameras/gate-1/credentials", HostPath: creds, ReadOnly: true}
		if len(res.Mounts) != 1 || res.Mounts[0] != wantMount {
			t.Errorf("mounts = %+v, want [%+v]", res.Mounts, wantMount)
		}
		if got := res.Envs["FERRY_CAMERA_GATE_1_CREDENTIALS_FILE"]; got != wantMount.TaskPath {
			t.Errorf("credentials env = %q, want %q", got, wantMount.TaskPath)
		}
		for k, v := range res.Envs {
			if strings.Contains(v, "secret-value") || strings.Contains(v, "viewer") {
				t.Errorf("env %s contains the credentials", k)
			}
		}
		if len(res.Devices) != 0 {
			t.Errorf("devices = %+v, want none for an IP camera", res.Devices)
		}
	})
	t.Run("ip camera without credentials", func(t *testing.T) {
		res, err := p.Reserve([]string{"lobby"})
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if len(res.Mounts) != 0 {
			t.Errorf("mounts = %+v, want none", res.Mounts)
		}
	})
	t.Run("unknown id", func(t *testing.T) {
		_, err := p.Reserve([]string{"gate-9"})
		if err == nil || !strings.Contains(err.Error(), `unknown camera id "gate-9"`) || !strings.Contains(err.Error(), "gate-1") {
			t.Fatalf("error = %v, want the unknown id and the known ids", err)
		}
	})
	t.Run("credentials file removed", func(t *testing.T) {
		if err := os.Remove(creds); err != nil {
			t.Fatal(err)
		}
		_, err := p.Reserve([]string{"gate-1"})
		if err == nil || !strings.Contains(err.Error(), "missing credentials_file") {
			t.Fatalf("error = %v, want a missing credentials_file error", err)
		}
	})
}
