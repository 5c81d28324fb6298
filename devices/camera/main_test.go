package camera_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// pluginBinDir contains the camera and video plugin binaries, built once
// for every test of the package.
var pluginBinDir string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ferry-camera-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"camera", "video"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, name), "github.com/ferry-video/ferry/plugins/cmd/"+name)
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", name, err, out)
			return 1
		}
	}
	pluginBinDir = dir
	return m.Run()
}

// cameraBinary returns the path of the camera plugin binary.
func cameraBinary() string { return filepath.Join(pluginBinDir, "camera") }

// installPlugin copies the named plugin binary into dir and returns its new
// path, because Nomad loads plugins from a folder of their own.
func installPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	src, err := os.Open(filepath.Join(pluginBinDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := filepath.Join(dir, name)
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
