package registrar

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestReadTags(t *testing.T) {
	dir := t.TempDir()
	write := func(folder, content string) string {
		t.Helper()
		path := filepath.Join(dir, folder)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if content != "" {
			if err := os.WriteFile(filepath.Join(path, TagsFile), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	primary := write("primary", "entrance, plates # the gate's plate reader\n\nnorth\n")
	replica := write("replica", "north parking-lot\n")
	bad := write("bad", "ok bad:tag -leading\n")
	none := write("none", "")

	tests := []struct {
		name    string
		dirs    []string
		want    []string
		wantErr []string
	}{
		{"one file", []string{primary}, []string{"entrance", "north", "plates"}, nil},
		{"union of folders", []string{primary, replica}, []string{"entrance", "north", "parking-lot", "plates"}, nil},
		{"no file", []string{none}, nil, nil},
		{"invalid tags left out", []string{bad}, []string{"ok"}, []string{`"bad:tag"`, `"-leading"`, TagsFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTags(tt.dirs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tags %v, want %v", got, tt.want)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("error %v, want none", err)
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestScanPublishesTags(t *testing.T) {
	root := t.TempDir()
	camera := filepath.Join(root, "cam-a")
	if err := os.MkdirAll(camera, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(camera, "a.avi"), []byte("RIFF\x10\x00\x00\x00AVI LIST"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(camera, TagsFile), []byte("entrance\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Site: "s", Node: "n", Roots: []string{root}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	pub := reg.Scan()
	detail := pub.Details[cfg.NodePrefix()+"cam-a"]
	if !reflect.DeepEqual(detail.Tags, []string{"entrance"}) {
		t.Errorf("cam-a tags %v, want [entrance]", detail.Tags)
	}
	if detail.Recordings != 1 {
		t.Errorf("cam-a recordings %d, want 1: the tags file must not count as a recording", detail.Recordings)
	}
}
