package registrar

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/hashicorp/consul/api"
)

// unreadableFolder returns the error that inventory.Rescan reports for a
// camera folder it may not read. The error is built here, not made with
// chmod, because a test running as root reads any folder.
func unreadableFolder(dir string) error {
	return fmt.Errorf("read camera folder %q: %w", dir, &fs.PathError{Op: "open", Path: dir, Err: syscall.EACCES})
}

func TestUnreadableFolderSkipsCamera(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)
	root := t.TempDir()
	for _, camera := range []string{"cam-ok", "cam-bad", ".hidden", "lost+found"} {
		addRecording(t, root, camera, "a.avi")
	}
	if err := os.Mkdir(filepath.Join(root, "cam-empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{ConsulAddr: agent.HTTPAddr, Site: "downtown", Node: "folders-1", Roots: []string{root}}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	snap, err := inventory.New(cfg.Roots).Rescan()
	if err != nil {
		t.Fatalf("Rescan: %v", err)
	}
	scanErr := unreadableFolder(filepath.Join(root, "cam-bad"))

	pub := Build(cfg, snap, nil, nil, scanErr)
	if !pub.Healthy {
		t.Errorf("publication unhealthy, want healthy with one camera folder unreadable")
	}
	if want := []string{TagPrefix + "cam-ok"}; !slices.Equal(pub.Tags, want) {
		t.Errorf("tags = %v, want %v", pub.Tags, want)
	}
	if !strings.Contains(pub.Unreadable["cam-bad"], "permission denied") {
		t.Errorf("unreadable cameras = %v, want cam-bad with its error", pub.Unreadable)
	}

	publisher, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.Apply(context.Background(), pub); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	// The agent sends an output change with the same status to the
	// catalog only after check_update_interval, so read its own copy.
	checks, err := client.Agent().Checks()
	if err != nil {
		t.Fatalf("read agent checks: %v", err)
	}
	check := checks[cfg.CheckID()]
	if check == nil {
		t.Fatalf("agent has no check %q", cfg.CheckID())
	}
	if check.Status != api.HealthPassing {
		t.Errorf("check status %q, want passing", check.Status)
	}
	if !strings.Contains(check.Output, `camera "cam-bad" not published`) {
		t.Errorf("check output %q, want it to name cam-bad", check.Output)
	}
}

func TestUnreadableRootIsCritical(t *testing.T) {
	root := t.TempDir()
	addRecording(t, root, "cam-ok", "a.avi")
	missing := filepath.Join(t.TempDir(), "gone")
	cfg := &Config{Site: "downtown", Node: "folders-2", Roots: []string{root, missing}}
	snap, scanErr := inventory.New(cfg.Roots).Rescan()
	if scanErr == nil {
		t.Fatal("Rescan of a missing root succeeded")
	}

	pub := Build(cfg, snap, nil, nil, scanErr)
	if pub.Healthy {
		t.Errorf("publication healthy, want unhealthy with a storage root unreadable")
	}
	if !strings.Contains(pub.HealthOutput, missing) {
		t.Errorf("health output %q, want it to name %s", pub.HealthOutput, missing)
	}
	if want := []string{TagPrefix + "cam-ok"}; !slices.Equal(pub.Tags, want) {
		t.Errorf("tags = %v, want %v", pub.Tags, want)
	}
}
