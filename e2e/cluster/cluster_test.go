package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindNomadFromEnv(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nomad")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOMAD_BIN", bin)

	got, err := FindNomad()
	if err != nil {
		t.Fatalf("FindNomad: %v", err)
	}
	if got != bin {
		t.Errorf("FindNomad = %q, want %q", got, bin)
	}
}

func TestFindNomadMissing(t *testing.T) {
	t.Setenv("NOMAD_BIN", "")
	t.Setenv("PATH", t.TempDir())

	_, err := FindNomad()
	if !errors.Is(err, ErrNomadNotFound) {
		t.Fatalf("FindNomad error = %v, want ErrNomadNotFound", err)
	}
	if !strings.Contains(err.Error(), "NOMAD_BIN") {
		t.Errorf("error %q does not mention NOMAD_BIN", err)
	}
	if !strings.Contains(err.Error(), "releases.hashicorp.com") {
		t.Errorf("error %q does not say where to install Nomad from", err)
	}
}

func TestFindNomadNotExecutable(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "nomad")
	if err := os.WriteFile(bin, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOMAD_BIN", bin)

	if _, err := FindNomad(); !errors.Is(err, ErrNomadNotFound) {
		t.Fatalf("FindNomad error = %v, want ErrNomadNotFound", err)
	}
}

func TestClientConfigRender(t *testing.T) {
	cc := clientConfig{
		Name:         "edge-1",
		DataDir:      "/tmp/c/edge-1/data",
		AllocDir:     "/tmp/c/edge-1/alloc",
		PluginDir:    "/tmp/c/edge-1/plugins",
		CgroupParent: "ferry-e2e-c-edge-1",
		CameraRoot:   "/tmp/c/edge-1/cameras",
		ServerRPC:    4647,
		Ports:        ports{HTTP: 5646, RPC: 5647, Serf: 5648},
	}
	hcl := cc.render()

	for _, want := range []string{
		`name       = "edge-1"`,
		`plugin_dir = "/tmp/c/edge-1/plugins"`,
		`servers           = ["127.0.0.1:4647"]`,
		`alloc_dir         = "/tmp/c/edge-1/alloc"`,
		`cgroup_parent     = "ferry-e2e-c-edge-1"`,
		`"fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"`,
		`camera_storage = ["/tmp/c/edge-1/cameras"]`,
		"http = 5646",
		`bind_addr  = "127.0.0.1"`,
	} {
		if !strings.Contains(hcl, want) {
			t.Errorf("client config lacks %q:\n%s", want, hcl)
		}
	}
}

func TestClientConfigConsul(t *testing.T) {
	cases := []struct {
		name       string
		consulAddr string
		denylist   string
		address    string
	}{
		{"off", "", `"fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,consul,vault"`, ""},
		{"on", "127.0.0.1:8500", `"fingerprint.denylist" = "env_aws,env_gce,env_azure,env_digitalocean,vault"`, `address          = "127.0.0.1:8500"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hcl := clientConfig{Name: "edge-1", ConsulAddr: tc.consulAddr}.render()
			if !strings.Contains(hcl, tc.denylist) {
				t.Errorf("client config lacks %q:\n%s", tc.denylist, hcl)
			}
			hasAddress := strings.Contains(hcl, "address          =")
			if hasAddress != (tc.address != "") {
				t.Errorf("client config has a consul address = %v, want %v:\n%s", hasAddress, tc.address != "", hcl)
			}
			if tc.address != "" && !strings.Contains(hcl, tc.address) {
				t.Errorf("client config lacks %q:\n%s", tc.address, hcl)
			}
		})
	}
}

func TestServerConfigRender(t *testing.T) {
	hcl := serverConfig("/tmp/c/server/data", ports{HTTP: 1, RPC: 2, Serf: 3}, "")

	if !strings.Contains(hcl, "bootstrap_expect = 1") {
		t.Errorf("server config lacks bootstrap_expect:\n%s", hcl)
	}
	if strings.Contains(hcl, "client {") {
		t.Errorf("server config enables a client:\n%s", hcl)
	}
}

func TestParseMotionEvents(t *testing.T) {
	tests := []struct {
		name string
		log  string
		want int
	}{
		{"count after events", "motion file=a.avi t=1.5 score=0.2\nmotion_events 1\n", 1},
		{"last count wins", "motion_events 3\nmotion_events 7\n", 7},
		{"no count", "motion file=a.avi t=1.5 score=0.2\n", -1},
		{"empty log", "", -1},
		{"prefix only", "motion_events_total 4\n", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseMotionEvents(tt.log); got != tt.want {
				t.Errorf("ParseMotionEvents = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestNodeCameraBytes(t *testing.T) {
	node := Node{
		Attributes: map[string]string{
			"driver.video.camera.north-gate": "4065845B",
			"driver.video.cameras":           "north-gate",
			"driver.video.camera.bad":        "x",
		},
	}
	got := node.CameraBytes()

	if len(got) != 1 {
		t.Fatalf("CameraBytes = %v, want one camera", got)
	}
	if got["north-gate"] != 4065845 {
		t.Errorf("CameraBytes[north-gate] = %d, want 4065845", got["north-gate"])
	}
}

func TestClientConfigExtraHCL(t *testing.T) {
	cc := clientConfig{
		Name:      "dc-1",
		ClientHCL: "cni_path = \"/usr/lib/cni\"\nbridge_network_name = \"ferry\"",
		ExtraHCL:  "plugin \"vsphere\" {\n  config {}\n}\n",
	}
	hcl := cc.render()
	for _, want := range []string{
		"  cni_path = \"/usr/lib/cni\"\n  bridge_network_name = \"ferry\"\n}\n\nplugin \"video\"",
		"}\nplugin \"vsphere\" {\n  config {}\n}\n",
	} {
		if !strings.Contains(hcl, want) {
			t.Errorf("client config lacks %q:\n%s", want, hcl)
		}
	}
}
