package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-video/ferry/plugins"
)

func TestReadRotatedLogsOrder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"web.stdout.10":      "k\n",
		"web.stdout.2":       "c\n",
		"web.stdout.0":       "a\n",
		"web.stdout.1":       "b\n",
		"web.stderr.0":       "err\n",
		"web.stdout.old":     "ignored\n",
		".web.stdout.fifo":   "ignored\n",
		"other.stdout.0":     "ignored\n",
		"web.stdout.0.extra": "ignored\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		stream string
		want   string
	}{
		{"stdout", "a\nb\nc\nk\n"},
		{"stderr", "err\n"},
	}
	for _, tt := range tests {
		t.Run(tt.stream, func(t *testing.T) {
			got, err := ReadRotatedLogs(dir, "web", tt.stream)
			if err != nil {
				t.Fatalf("ReadRotatedLogs: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("ReadRotatedLogs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAllocDirWithoutLogCollection(t *testing.T) {
	alloc, err := NewAllocDirFor(t.TempDir(), "web", plugins.Capabilities{DisableLogCollection: true})
	if err != nil {
		t.Fatalf("NewAllocDirFor: %v", err)
	}
	t.Cleanup(alloc.Close)

	cfg := alloc.TaskConfig(nil)
	for _, path := range []string{cfg.StdoutPath, cfg.StderrPath} {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("Lstat(%q) error = %v, want no FIFO", path, err)
		}
	}

	logDir := filepath.Join(alloc.Dir, "alloc", "logs")
	if err := os.WriteFile(filepath.Join(logDir, "web.stdout.0"), []byte("first\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "web.stdout.1"), []byte("second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := alloc.Stdout.WaitFor(testContext(t), "first\nsecond\n"); err != nil {
		t.Errorf("Stdout.WaitFor: %v", err)
	}
	if got := alloc.Stderr.String(); got != "" {
		t.Errorf("Stderr = %q, want empty", got)
	}
}
