package video

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

// mknodChar makes a character device node, such as a copy of /dev/zero
// (1, 5). It needs CAP_MKNOD, so these tests run as root.
func mknodChar(t *testing.T, path string, major, minor int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, major<<8|minor); err != nil {
		t.Fatalf("mknod %s (run the tests as root): %v", path, err)
	}
}

// TestDevicePassthroughExact gives the task one of two device nodes, a
// device env and a read-only mount, as a camera reservation does, and
// checks inside the container that only the allocated node is there.
func TestDevicePassthroughExact(t *testing.T) {
	env := newTestEnv(t)
	nodes := t.TempDir()
	allocated, other := filepath.Join(nodes, "video0"), filepath.Join(nodes, "video1")
	mknodChar(t, allocated, 1, 5)
	mknodChar(t, other, 1, 3)
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("user=viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	script := strings.Join([]string{
		`test -c /dev/video0 && echo video0-char-device`,
		`echo "read=$(/bin/busybox head -c 4 /dev/video0 | /bin/busybox wc -c)"`,
		`echo frame > /dev/video0 && echo video0-writable`,
		`test -e /dev/video1 && echo video1-present || echo video1-absent`,
		`test -e ` + nodes + ` && echo host-dir-present || echo host-dir-absent`,
		`echo "url=$FERRY_CAMERA_GATE_1_URL"`,
		`cat /secrets/ferry/cameras/gate-1/credentials`,
		`echo x >> /secrets/ferry/cameras/gate-1/credentials && echo creds-writable || echo creds-read-only`,
	}, "; ")
	task := env.newTask("camera", shellTask(script))
	task.cfg.Devices = []plugins.Device{{TaskPath: "/dev/video0", HostPath: allocated, Permissions: "rw"}}
	task.cfg.DeviceEnv = map[string]string{"FERRY_CAMERA_GATE_1_URL": "rtsp://127.0.0.1:8554/gate"}
	task.cfg.Mounts = []plugins.Mount{{TaskPath: "/secrets/ferry/cameras/gate-1/credentials", HostPath: creds, ReadOnly: true}}
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}

	result := waitExit(t, env.driver, task.cfg.ID)
	task.stdout.waitFor(t, "creds-", 20*time.Second)
	out := task.stdout.String()
	for _, want := range []string{
		"video0-char-device",
		"read=4\n",
		"video0-writable",
		"video1-absent",
		"host-dir-absent",
		"url=rtsp://127.0.0.1:8554/gate",
		"user=viewer",
		"creds-read-only",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout = %q, want it to contain %q (stderr %q)", out, want, task.stderr.String())
		}
	}
	if result.ExitCode != 0 {
		t.Errorf("exit code = %d, stderr %q", result.ExitCode, task.stderr.String())
	}
}

// TestDRIPassthroughContainer passes a fixture render node, a copy of
// /dev/null, with dri_devices = true.
func TestDRIPassthroughContainer(t *testing.T) {
	env := newTestEnv(t)
	devRoot := t.TempDir()
	mknodChar(t, filepath.Join(devRoot, "dri", "renderD128"), 1, 3)
	env.driver.host = hostDevices{procRoot: t.TempDir(), devRoot: devRoot}

	config := shellTask(`echo probe > /dev/dri/renderD128 && echo render-node-writable; ls /dev/dri`)
	config["dri_devices"] = cty.True
	task := env.newTask("vaapi", config)
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	waitExit(t, env.driver, task.cfg.ID)
	task.stdout.waitFor(t, "renderD128", 20*time.Second)
	if !strings.Contains(task.stdout.String(), "render-node-writable") {
		t.Errorf("stdout = %q, want the render node writable", task.stdout.String())
	}
}

func TestAcceleratorsRejectedWithoutHardware(t *testing.T) {
	env := newTestEnv(t)
	env.driver.host = hostDevices{procRoot: t.TempDir(), devRoot: t.TempDir()}
	cases := []struct {
		name     string
		change   func(map[string]cty.Value)
		wantText string
	}{
		{"gpus count", func(c map[string]cty.Value) { c["gpus"] = cty.StringVal("1") }, "has no NVIDIA GPUs"},
		{"gpus all", func(c map[string]cty.Value) { c["gpus"] = cty.StringVal("all") }, "has no NVIDIA GPUs"},
		{"gpus invalid", func(c map[string]cty.Value) { c["gpus"] = cty.StringVal("two") }, `invalid gpus "two"`},
		{"dri devices", func(c map[string]cty.Value) { c["dri_devices"] = cty.True }, "no render nodes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			config := shellTask("true")
			tc.change(config)
			task := env.newTask("accel", config)
			_, _, err := env.driver.StartTask(context.Background(), task.cfg)
			if err == nil {
				t.Fatal("StartTask succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
			if ids := env.containers(); len(ids) != 0 {
				t.Errorf("containers left behind: %v", ids)
			}
		})
	}
}

// gpuFixture returns host devices with n GPUs in /proc/driver/nvidia/gpus
// and one render node.
func gpuFixture(t *testing.T, n int) hostDevices {
	t.Helper()
	h := hostDevices{procRoot: t.TempDir(), devRoot: t.TempDir()}
	for i := 0; i < n; i++ {
		dir := filepath.Join(h.procRoot, "driver", "nvidia", "gpus", "0000:0"+string(rune('1'+i))+":00.0")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mknodChar(t, filepath.Join(h.devRoot, "dri", "renderD128"), 1, 3)
	return h
}

func TestAddAccelerators(t *testing.T) {
	h := gpuFixture(t, 2)
	cases := []struct {
		name      string
		task      TaskConfig
		wantCount int
		wantIDs   []string
		wantDRI   int
		wantErr   string
	}{
		{"none", TaskConfig{}, 0, nil, 0, ""},
		{"two gpus", TaskConfig{GPUs: "2"}, 2, nil, 0, ""},
		{"all gpus", TaskConfig{GPUs: "all"}, -1, nil, 0, ""},
		{"too many gpus", TaskConfig{GPUs: "3"}, 0, nil, 0, "has 2 NVIDIA GPUs"},
		{"gpus by index", TaskConfig{GPUs: "device=0,1"}, 0, []string{"0", "1"}, 0, ""},
		{"gpu by uuid", TaskConfig{GPUs: "device=GPU-3a5c"}, 0, []string{"GPU-3a5c"}, 0, ""},
		{"gpu index too high", TaskConfig{GPUs: "device=2"}, 0, nil, 0, "names GPU 2, but this node has 2"},
		{"empty gpu id", TaskConfig{GPUs: "device=0,"}, 0, nil, 0, "an empty GPU id"},
		{"render nodes", TaskConfig{DRIDevices: true}, 0, nil, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			host := &container.HostConfig{}
			err := addAccelerators(host, &tc.task, h)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("addAccelerators: %v", err)
			}
			wantRequest := tc.wantCount != 0 || len(tc.wantIDs) != 0
			if !wantRequest && len(host.DeviceRequests) != 0 {
				t.Errorf("device requests = %+v, want none", host.DeviceRequests)
			}
			if wantRequest {
				if len(host.DeviceRequests) != 1 {
					t.Fatalf("device requests = %+v, want one", host.DeviceRequests)
				}
				req := host.DeviceRequests[0]
				if req.Driver != "nvidia" || req.Count != tc.wantCount {
					t.Errorf("device request = %+v, want driver nvidia and count %d", req, tc.wantCount)
				}
				if strings.Join(req.DeviceIDs, ",") != strings.Join(tc.wantIDs, ",") {
					t.Errorf("device ids = %q, want %q", req.DeviceIDs, tc.wantIDs)
				}
			}
			if len(host.Devices) != tc.wantDRI {
				t.Errorf("devices = %+v, want %d", host.Devices, tc.wantDRI)
			}
		})
	}
}

func TestAcceleratorAttributes(t *testing.T) {
	cases := []struct {
		name     string
		host     hostDevices
		wantGPUs int64
		wantDRI  int64
	}{
		{"proc gpus", gpuFixture(t, 2), 2, 1},
		{"dev nodes only", func() hostDevices {
			h := hostDevices{procRoot: t.TempDir(), devRoot: t.TempDir()}
			mknodChar(t, filepath.Join(h.devRoot, "nvidia0"), 1, 3)
			mknodChar(t, filepath.Join(h.devRoot, "nvidiactl"), 1, 3)
			return h
		}(), 1, 0},
		{"nothing", hostDevices{procRoot: t.TempDir(), devRoot: t.TempDir()}, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := map[string]plugins.Attribute{}
			addAcceleratorAttributes(attrs, tc.host)
			if got := attrs[attrGPUs]; got.Kind != plugins.AttributeInt || got.Int != tc.wantGPUs {
				t.Errorf("%s = %+v, want %d", attrGPUs, got, tc.wantGPUs)
			}
			if got := attrs[attrDRIRenderNodes]; got.Kind != plugins.AttributeInt || got.Int != tc.wantDRI {
				t.Errorf("%s = %+v, want %d", attrDRIRenderNodes, got, tc.wantDRI)
			}
		})
	}
}
