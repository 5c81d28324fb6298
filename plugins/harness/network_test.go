package harness

import (
	"os"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/plugins"
)

func TestGroupNetworkAfterPluginKill(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	allocID := "network-test-alloc"
	t.Cleanup(func() { _ = p.Driver.DestroyNetwork(testContext(t), allocID, nil) })

	spec, created, err := p.Driver.CreateNetwork(ctx, allocID, &plugins.NetworkCreateRequest{Hostname: "cam"})
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	if !created {
		t.Error("first CreateNetwork created = false, want true")
	}
	if spec.Mode != plugins.NetIsolationGroup {
		t.Errorf("mode = %v, want group", spec.Mode)
	}
	if _, err := os.Stat(spec.Path); err != nil {
		t.Fatalf("namespace path %q: %v", spec.Path, err)
	}

	if err := p.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if err := p.Relaunch(); err != nil {
		t.Fatalf("Relaunch: %v", err)
	}
	again, created, err := p.Driver.CreateNetwork(ctx, allocID, nil)
	if err != nil {
		t.Fatalf("CreateNetwork after relaunch: %v", err)
	}
	if created {
		t.Error("CreateNetwork after relaunch created = true, want false")
	}
	if again.Path != spec.Path {
		t.Errorf("path after relaunch = %q, want %q", again.Path, spec.Path)
	}

	if err := p.Driver.DestroyNetwork(ctx, allocID, again); err != nil {
		t.Fatalf("DestroyNetwork: %v", err)
	}
	if _, err := os.Stat(spec.Path); !os.IsNotExist(err) {
		t.Errorf("namespace path after DestroyNetwork: %v, want not exist", err)
	}
	if err := p.Driver.DestroyNetwork(ctx, allocID, nil); err != nil {
		t.Errorf("second DestroyNetwork: %v", err)
	}
}

func TestCreateNetworkErrors(t *testing.T) {
	tests := []struct {
		name    string
		allocID string
		want    string
	}{
		{"empty alloc id", "", "no alloc_id"},
		{"path in alloc id", "../escape", "invalid alloc id"},
	}
	p := launch(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := p.Driver.CreateNetwork(testContext(t), tt.allocID, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CreateNetwork(%q) error = %v, want it to contain %q", tt.allocID, err, tt.want)
			}
		})
	}
}
