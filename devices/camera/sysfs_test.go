package camera

import (
	"path/filepath"
	"testing"
)

var (
	webcam = sysfsNode{entry: "video0", name: "HD Pro Webcam C920", index: 0, busPath: "pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"}
	// webcamMeta is the metadata node a UVC camera adds next to its
	// capture node.
	webcamMeta = sysfsNode{entry: "video1", name: "HD Pro Webcam C920", index: 1, busPath: "pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0"}
	grabber    = sysfsNode{entry: "video2", name: "Hauppauge WinTV", index: 0, busPath: "pci0000:00/0000:00:1c.0/0000:03:00.0"}
)

func TestScanSysfs(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam, webcamMeta, grabber})
	cams, err := scanSysfs(f.sysfsRoot, f.devRoot, noV4L2)
	if err != nil {
		t.Fatalf("scanSysfs: %v", err)
	}
	if len(cams) != 2 {
		t.Fatalf("found %d cameras (%+v), want 2 capture nodes", len(cams), cams)
	}

	want := []localCamera{
		{ID: "v4l-0000_03_00_0-0", Name: "Hauppauge WinTV", Model: "hauppauge-wintv", Entry: "video2",
			Node: filepath.Join(f.devRoot, "video2"), BusPath: grabber.busPath, PCIBusID: "0000:03:00.0"},
		{ID: "v4l-1_2_1_0-0", Name: "HD Pro Webcam C920", Model: "hd-pro-webcam-c920", Entry: "video0",
			Node: filepath.Join(f.devRoot, "video0"), BusPath: webcam.busPath, PCIBusID: "0000:00:14.0"},
	}
	for i, w := range want {
		t.Run(w.Entry, func(t *testing.T) {
			if cams[i] != w {
				t.Errorf("camera %d = %+v, want %+v", i, cams[i], w)
			}
		})
	}
}

func TestScanSysfsCapabilityCheck(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam, webcamMeta})
	onlyMeta := func(path string) (bool, error) { return filepath.Base(path) == "video1", nil }
	cams, err := scanSysfs(f.sysfsRoot, f.devRoot, onlyMeta)
	if err != nil {
		t.Fatalf("scanSysfs: %v", err)
	}
	if len(cams) != 1 || cams[0].Entry != "video1" {
		t.Fatalf("cameras = %+v, want only video1, whose capabilities report capture", cams)
	}
}

func TestScanSysfsMissingRoot(t *testing.T) {
	cams, err := scanSysfs(filepath.Join(t.TempDir(), "none"), "/dev", noV4L2)
	if err != nil {
		t.Errorf("scanSysfs: %v, want no error on a node without V4L2", err)
	}
	if len(cams) != 0 {
		t.Errorf("cameras = %+v, want none", cams)
	}
}

// TestIDsSurviveRenumbering boots with two cameras, then "reboots" with the
// same cameras enumerated in the other order.
func TestIDsSurviveRenumbering(t *testing.T) {
	before := newFixture(t, []sysfsNode{webcam, grabber})
	swappedWebcam, swappedGrabber := webcam, grabber
	swappedWebcam.entry, swappedGrabber.entry = "video2", "video0"
	after := newFixture(t, []sysfsNode{swappedWebcam, swappedGrabber})

	p := newTestPlugin(t, configFor(before))
	first, err := p.Reserve([]string{"v4l-1_2_1_0-0"})
	if err != nil {
		t.Fatalf("Reserve before reboot: %v", err)
	}
	p = newTestPlugin(t, configFor(after))
	second, err := p.Reserve([]string{"v4l-1_2_1_0-0"})
	if err != nil {
		t.Fatalf("Reserve after reboot: %v", err)
	}

	if got := first.Devices[0].HostPath; got != filepath.Join(before.devRoot, "video0") {
		t.Errorf("host path before reboot = %s, want video0", got)
	}
	if got := second.Devices[0].HostPath; got != filepath.Join(after.devRoot, "video2") {
		t.Errorf("host path after reboot = %s, want video2", got)
	}
	if got := second.Devices[0].TaskPath; got != "/dev/video2" {
		t.Errorf("task path after reboot = %s, want /dev/video2", got)
	}
}
