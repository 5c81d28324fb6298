package video

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// mountTmpfs mounts a tmpfs of 64 KiB on dir until the test ends. It needs
// root.
func mountTmpfs(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a 64k tmpfs on %s (needs root): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// fillDisk writes a file in dir until the file system is full.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatalf("create filler: %v", err)
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return
		}
	}
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}

func TestWriteFileAtomicDiskFull(t *testing.T) {
	tests := []struct {
		name string
		fill bool
		data []byte
	}{
		{"disk already full", true, []byte(`{"container_id":"new"}`)},
		{"data larger than disk", false, bytes.Repeat([]byte("x"), 128<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mountTmpfs(t, dir)
			path := filepath.Join(dir, logPositionFile)
			old := []byte(`{"container_id":"old"}`)
			if err := writeFileAtomic(path, old); err != nil {
				t.Fatalf("first write: %v", err)
			}
			if tt.fill {
				fillDisk(t, dir)
			}

			err := writeFileAtomic(path, tt.data)
			if !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("error = %v, want ENOSPC", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read %s: %v", path, err)
			}
			if !bytes.Equal(got, old) {
				t.Errorf("file = %q, want the old content %q", got, old)
			}
			if left := tempFiles(t, dir); len(left) != 0 {
				t.Errorf("temporary files left behind: %v", left)
			}
		})
	}
}

func TestLogPositionDiskFullEvent(t *testing.T) {
	env := newTestEnv(t)
	config := shellTask("echo one; while [ ! -e /alloc/go ]; do sleep 0.1; done; echo two; exec sleep 300")
	config["network_mode"] = cty.StringVal("none")
	task := env.newTask("diskfull", config)
	taskDir := task.cfg.TaskDir()
	mountTmpfs(t, taskDir)
	for _, dir := range []string{"local", "secrets"} {
		if err := os.Mkdir(filepath.Join(taskDir, dir), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, err := env.driver.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}

	handle, _, err := env.driver.StartTask(ctx, task.cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	defer env.driver.DestroyTask(context.Background(), task.cfg.ID, true)
	state, err := decodeDriverState(handle)
	if err != nil {
		t.Fatal(err)
	}
	task.stdout.waitFor(t, "one\n", 20*time.Second)
	fillDisk(t, taskDir)
	if err := os.WriteFile(filepath.Join(task.cfg.AllocDir, "alloc", "go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	want := "failed to save log position: no space left on device"
	for found := false; !found; {
		select {
		case ev := <-events:
			found = ev.TaskID == task.cfg.ID && strings.HasPrefix(ev.Message, want)
		case <-ctx.Done():
			t.Fatalf("no task event starting with %q", want)
		}
	}

	if got := task.stdout.String(); got != "one\ntwo\n" {
		t.Errorf("stdout = %q, want %q because the log files are on another disk", got, "one\ntwo\n")
	}
	data, err := os.ReadFile(filepath.Join(taskDir, logPositionFile))
	if err != nil {
		t.Fatalf("read log position: %v", err)
	}
	var pos logPosition
	if err := json.Unmarshal(data, &pos); err != nil {
		t.Errorf("log position %q is corrupt: %v", data, err)
	}
	if pos.ContainerID != state.ContainerID {
		t.Errorf("log position container = %q, want %q", pos.ContainerID, state.ContainerID)
	}
	if left := tempFiles(t, taskDir); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
