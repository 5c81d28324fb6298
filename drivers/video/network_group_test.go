package video

import (
	"context"
	"strings"
	"testing"
	"time"

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

func TestCreateNetworkMissingPauseImage(t *testing.T) {
	env := newTestEnv(t)
	d := env.driver
	d.pauseImage = "ferry-test/no-such-pause:0"
	allocID := "missing-pause-" + env.nodeID
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, _, err := d.CreateNetwork(ctx, allocID, nil)
	if err == nil || !strings.Contains(err.Error(), "drivers/video/pause/build-image.sh") {
		t.Fatalf("CreateNetwork error = %v, want one naming build-image.sh", err)
	}
	list, err := listLabelled(ctx, env.docker, labelNetworkAllocID+"="+allocID)
	if err != nil {
		t.Fatalf("list pause containers: %v", err)
	}
	if len(list) != 0 {
		t.Errorf("pause containers after the failure = %d, want 0", len(list))
	}
}
