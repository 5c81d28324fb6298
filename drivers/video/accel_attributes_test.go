package video

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-video/ferry/plugins"
)

// v4l2Node is one entry of a sysfs video4linux fixture. An index of ""
// leaves out the index file, as some drivers do.
type v4l2Node struct {
	entry string
	index string
}

// sysfsFixture builds a video4linux class folder with one folder per node.
func sysfsFixture(t *testing.T, nodes []v4l2Node) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "video4linux")
	for _, node := range nodes {
		dir := filepath.Join(root, node.entry)
		writeFixture(t, filepath.Join(dir, "name"), "USB Camera\n")
		if node.index != "" {
			writeFixture(t, filepath.Join(dir, "index"), node.index+"\n")
		}
	}
	return root
}

// nvidiaProcFixture builds /proc/driver/nvidia/gpus with one folder per
// bus id, each with an information file whose Model line is the map
// value. An empty model writes no information file.
func nvidiaProcFixture(t *testing.T, models map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for busID, model := range models {
		dir := filepath.Join(root, "driver", "nvidia", "gpus", busID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if model == "" {
			continue
		}
		info := "Model: \t\t " + model + "\nIRQ:   \t\t 130\nGPU UUID: \t GPU-0a1b2c3d\nBus Location: \t " + busID + "\n"
		writeFixture(t, filepath.Join(dir, "information"), info)
	}
	return root
}

func writeFixture(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLocalCamerasAttribute(t *testing.T) {
	cases := []struct {
		name  string
		root  string
		count int64
	}{
		{"missing folder", filepath.Join(t.TempDir(), "absent"), 0},
		{"empty folder", sysfsFixture(t, nil), 0},
		{"capture and metadata nodes", sysfsFixture(t, []v4l2Node{
			{"video0", "0"}, {"video1", "1"}, {"video2", "0"}, {"video3", "1"},
		}), 2},
		{"node without index", sysfsFixture(t, []v4l2Node{{"video0", ""}, {"video1", "1"}}), 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			attrs := map[string]plugins.Attribute{}
			addAcceleratorAttributes(attrs, hostDevices{procRoot: t.TempDir(), devRoot: t.TempDir(), sysfsRoot: tc.root})
			got, ok := attrs[attrLocalCameras]
			if !ok {
				t.Fatalf("no %s attribute in %v", attrLocalCameras, attrs)
			}
			if got.Kind != plugins.AttributeInt || got.Int != tc.count {
				t.Errorf("%s = %+v, want %d", attrLocalCameras, got, tc.count)
			}
		})
	}
}

func TestGPUModelAttribute(t *testing.T) {
	cases := []struct {
		name   string
		models map[string]string
		want   string // "" expects no attribute
	}{
		{"no nvidia driver", nil, ""},
		{"one gpu", map[string]string{"0000:01:00.0": "NVIDIA GeForce RTX 3060"}, "NVIDIA GeForce RTX 3060"},
		{"same model twice", map[string]string{
			"0000:01:00.0": "Tesla T4", "0000:02:00.0": "Tesla T4",
		}, "Tesla T4"},
		{"two models", map[string]string{
			"0000:01:00.0": "Tesla T4", "0000:02:00.0": "NVIDIA A2",
		}, "NVIDIA A2,Tesla T4"},
		{"information file missing", map[string]string{"0000:01:00.0": ""}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := hostDevices{procRoot: nvidiaProcFixture(t, tc.models), devRoot: t.TempDir(), sysfsRoot: t.TempDir()}
			attrs := map[string]plugins.Attribute{}
			addAcceleratorAttributes(attrs, h)
			got, ok := attrs[attrGPUModel]
			if tc.want == "" {
				if ok {
					t.Errorf("%s = %+v, want no attribute", attrGPUModel, got)
				}
				return
			}
			if !ok {
				t.Fatalf("no %s attribute in %v", attrGPUModel, attrs)
			}
			if got.Kind != plugins.AttributeString || got.String != tc.want {
				t.Errorf("%s = %+v, want %q", attrGPUModel, got, tc.want)
			}
			if gpus := attrs[attrGPUs]; gpus.Int != int64(len(tc.models)) {
				t.Errorf("%s = %+v, want %d", attrGPUs, gpus, len(tc.models))
			}
		})
	}
}

func TestDefaultHostDevicesRoots(t *testing.T) {
	h := defaultHostDevices()
	if h.sysfsRoot != "/sys/class/video4linux" {
		t.Errorf("sysfsRoot = %q, want /sys/class/video4linux", h.sysfsRoot)
	}
	if h.procRoot != "/proc" {
		t.Errorf("procRoot = %q, want /proc", h.procRoot)
	}
}
