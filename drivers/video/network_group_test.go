package video

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

func groupTaskConfig(labels map[string]string, hosts *plugins.HostsConfig) *plugins.TaskConfig {
	return &plugins.TaskConfig{
		NetIsolation: &plugins.NetworkIsolation{
			Mode: plugins.NetIsolationGroup, Path: "/var/run/docker/netns/abc", Labels: labels, Hosts: hosts,
		},
		Resources: &plugins.Resources{Ports: []plugins.PortMapping{
			{Label: "http", Value: 25000, To: 8080},
			{Label: "metrics", Value: 25001},
		}},
	}
}

func TestJoinGroupNetwork(t *testing.T) {
	tests := []struct {
		name     string
		cfg      *plugins.TaskConfig
		mode     string
		wantMode string
		wantErr  string
	}{
		{"host network", &plugins.TaskConfig{}, "", "", ""},
		{"group network", groupTaskConfig(map[string]string{specLabelSandboxID: "c0ffee"}, nil), "", "container:c0ffee", ""},
		{"explicit mode kept", groupTaskConfig(map[string]string{specLabelSandboxID: "c0ffee"}, nil), "host", "host", ""},
		{"namespace of another driver", groupTaskConfig(nil, nil), "", "", "has no docker_sandbox_container_id label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &TaskConfig{NetworkMode: tt.mode}
			err := joinGroupNetwork(tt.cfg, task)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("joinGroupNetwork: %v", err)
			}
			if task.NetworkMode != tt.wantMode {
				t.Errorf("network mode = %q, want %q", task.NetworkMode, tt.wantMode)
			}
		})
	}
}

func TestGroupNetworkOverride(t *testing.T) {
	cfg := groupTaskConfig(map[string]string{specLabelSandboxID: "c0ffee"}, &plugins.HostsConfig{Hostname: "c0ffee", Address: "172.26.64.9"})
	got := groupNetworkOverride(cfg)
	if got == nil {
		t.Fatal("override = nil, want the group address and ports")
	}
	if got.Addr != "172.26.64.9" {
		t.Errorf("address = %q, want the group's CNI address", got.Addr)
	}
	if got.PortMap["http"] != 8080 {
		t.Errorf("http port = %d, want its to value 8080", got.PortMap["http"])
	}
	if got.PortMap["metrics"] != 25001 {
		t.Errorf("metrics port = %d, want its host value 25001 for an unset to", got.PortMap["metrics"])
	}
	if got.AutoAdvertise {
		t.Error("auto advertise = true, want false so that address_mode auto uses the host")
	}
}

func TestValidateAllocID(t *testing.T) {
	tests := []struct {
		id      string
		wantErr string
	}{
		{"5b3c1d2e-0000-4000-8000-0123456789ab", ""},
		{"", "missing alloc id"},
		{"../x", "invalid alloc id"},
		{"a b", "invalid alloc id"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			err := validateAllocID(tt.id)
			if tt.wantErr == "" && err != nil {
				t.Errorf("validateAllocID(%q) = %v, want nil", tt.id, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("validateAllocID(%q) = %v, want it to contain %q", tt.id, err, tt.wantErr)
			}
		})
	}
}

// brokenPauseImage is an image whose command does not exist, so that a
// container of it is created but fails to start.
const brokenPauseImage = "ferry-test/broken-pause:1"

func importBrokenPauseImage(t *testing.T, docker *client.Client) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	body, err := docker.ImageImport(context.Background(), image.ImportSource{Source: &buf, SourceName: "-"}, brokenPauseImage, image.ImportOptions{
		Changes: []string{"LABEL " + testImageLabel + "=1", `CMD ["/nonexistent"]`},
	})
	if err != nil {
		t.Fatalf("import %s: %v", brokenPauseImage, err)
	}
	defer body.Close()
	if _, err := io.Copy(io.Discard, body); err != nil {
		t.Fatalf("import %s: %v", brokenPauseImage, err)
	}
	t.Cleanup(func() {
		_, err := docker.ImageRemove(context.Background(), brokenPauseImage, image.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			t.Errorf("remove %s: %v", brokenPauseImage, err)
		}
	})
}

func TestCreateNetworkFailureLeavesNothing(t *testing.T) {
	env := newTestEnv(t)
	importBrokenPauseImage(t, env.docker)
	tests := []struct {
		name  string
		image string
		want  string
	}{
		{"missing pause image", "ferry-test/no-such-pause:0", "drivers/video/pause/build-image.sh"},
		{"pause fails to start", brokenPauseImage, "start pause container"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := env.newDriver()
			d.pauseImage = tt.image
			allocID := fmt.Sprintf("failed-pause-%d-%s", i, env.nodeID)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()

			_, _, err := d.CreateNetwork(ctx, allocID, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CreateNetwork error = %v, want it to contain %q", err, tt.want)
			}
			list, err := listLabelled(ctx, env.docker, labelNetworkAllocID+"="+allocID)
			if err != nil {
				t.Fatalf("list pause containers: %v", err)
			}
			if len(list) != 0 {
				t.Errorf("pause containers after the failure = %d, want 0", len(list))
			}
		})
	}
}
