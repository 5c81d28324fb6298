package inventory

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSanitizeID(t *testing.T) {
	cases := []struct{ name, want string }{
		{"north-gate", "north-gate"},
		{"cam.2", "cam.2"},
		{"North Gate!", "North_Gate_-97859720"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := SanitizeID(tc.name); got != tc.want {
				t.Errorf("SanitizeID(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestSnapshotCameraBySanitizedID(t *testing.T) {
	root := t.TempDir()
	folder := filepath.Join(root, "North Gate!")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	snap, err := New([]string{root}).Rescan()
	if err != nil {
		t.Fatalf("Rescan: %v", err)
	}

	for _, id := range []string{"North Gate!", "North_Gate_-97859720"} {
		t.Run(id, func(t *testing.T) {
			cam, ok := snap.Camera(id)
			if !ok {
				t.Fatalf("Camera(%q) not found", id)
			}
			if len(cam.Dirs) != 1 || cam.Dirs[0] != folder {
				t.Errorf("Dirs = %v, want [%s]", cam.Dirs, folder)
			}
		})
	}
	if _, ok := snap.Camera("North_Gate_"); ok {
		t.Error("Camera found by a sanitised id without its hash suffix")
	}
	if got := snap.SanitizedIDs(); len(got) != 1 || got[0] != "North_Gate_-97859720" {
		t.Errorf("SanitizedIDs = %v, want [North_Gate_-97859720]", got)
	}
}
