package motion

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestListRecordings(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"sorted by name", []string{"b.mp4", "a.mp4", "c.avi"}, []string{"a.mp4", "b.mp4", "c.avi"}},
		{"nested folders", []string{"2024-02/x.mp4", "2024-01/y.mp4"}, []string{"2024-01/y.mp4", "2024-02/x.mp4"}},
		{"hidden skipped", []string{".partial.mp4", ".tmp/z.mp4", "a.mp4"}, []string{"a.mp4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tt.files {
				writeFile(t, filepath.Join(dir, name))
			}
			got, err := ListRecordings(dir)
			if err != nil {
				t.Fatalf("ListRecordings: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ListRecordings = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListRecordingsSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target.mp4")
	writeFile(t, target)
	if err := os.Symlink(target, filepath.Join(dir, "linked.mp4")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "absent.mp4"), filepath.Join(dir, "dangling.mp4")); err != nil {
		t.Fatal(err)
	}

	got, err := ListRecordings(dir)
	if err != nil {
		t.Fatalf("ListRecordings: %v", err)
	}
	want := []string{"linked.mp4"}
	if !slices.Equal(got, want) {
		t.Errorf("ListRecordings = %v, want %v", got, want)
	}
}

func TestListRecordingsErrors(t *testing.T) {
	empty := t.TempDir()
	onlyHidden := t.TempDir()
	writeFile(t, filepath.Join(onlyHidden, ".partial.mp4"))
	tests := []struct {
		name string
		dir  string
		want error
	}{
		{"empty folder", empty, ErrNoRecordings},
		{"only hidden files", onlyHidden, ErrNoRecordings},
		{"missing folder", filepath.Join(empty, "absent"), fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ListRecordings(tt.dir)
			if !errors.Is(err, tt.want) {
				t.Errorf("ListRecordings error = %v, want %v", err, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
