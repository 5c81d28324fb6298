package camera

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// sysfsNode is one V4L2 node of a sysfs fixture.
type sysfsNode struct {
	entry   string // such as "video0"
	name    string
	index   int
	busPath string // under /sys/devices
}

// fixture is a fake root with sys/class/video4linux, sys/devices and a dev
// folder of real character device nodes.
type fixture struct {
	sysfsRoot string
	devRoot   string
}

// newFixture builds the sysfs tree of nodes the way the kernel lays it
// out: the class entry is a symbolic link into the device tree, and each
// node's "device" link points at its parent device.
func newFixture(t *testing.T, nodes []sysfsNode) fixture {
	t.Helper()
	root := t.TempDir()
	f := fixture{sysfsRoot: filepath.Join(root, "sys", "class", "video4linux"), devRoot: filepath.Join(root, "dev")}
	mkdir(t, f.sysfsRoot)
	mkdir(t, f.devRoot)

	for _, n := range nodes {
		parent := filepath.Join(root, "sys", "devices", n.busPath)
		dir := filepath.Join(parent, "video4linux", n.entry)
		mkdir(t, dir)
		writeFile(t, filepath.Join(dir, "name"), n.name+"\n")
		writeFile(t, filepath.Join(dir, "index"), strconv.Itoa(n.index)+"\n")
		symlink(t, "../..", filepath.Join(dir, "device"))
		symlink(t, dir, filepath.Join(f.sysfsRoot, n.entry))
		mknodChar(t, filepath.Join(f.devRoot, n.entry), 1, 3)
	}
	return f
}

func mkdir(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// mknodChar makes a character device node, such as a copy of /dev/null
// (1, 3). It needs CAP_MKNOD, so the tests run as root.
func mknodChar(t *testing.T, path string, major, minor int) {
	t.Helper()
	dev := major<<8 | minor
	if err := syscall.Mknod(path, syscall.S_IFCHR|0o666, dev); err != nil {
		t.Fatalf("mknod %s (run the tests as root): %v", path, err)
	}
}

// noV4L2 is a capability check that fails like a node that is not a V4L2
// device, so that scanSysfs falls back to the sysfs index.
func noV4L2(string) (bool, error) { return false, errors.New("not a V4L2 device") }

// manualClock ticks only when the test sends on ticks.
type manualClock struct{ ticks chan time.Time }

func newManualClock() *manualClock { return &manualClock{ticks: make(chan time.Time)} }

func (c *manualClock) Now() time.Time                 { return time.Unix(1700000000, 0) }
func (c *manualClock) NewTicker(time.Duration) ticker { return manualTicker{c.ticks} }
func (c *manualClock) tick()                          { c.ticks <- time.Time{} }

type manualTicker struct{ ch chan time.Time }

func (t manualTicker) C() <-chan time.Time { return t.ch }
func (t manualTicker) Stop()               {}
