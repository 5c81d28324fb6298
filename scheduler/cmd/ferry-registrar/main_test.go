package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/scheduler/registrar"
)

func TestOncePrintsPublication(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cam-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cam-1", "a.avi"), []byte("RIFF\x10\x00\x00\x00AVI LIST"), 0o644); err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(t.TempDir(), "registrar.json")
	config := `{"site": "downtown", "node": "from-file", "streams": [{"camera": "cam-live", "url": "rtsp://u:p@10.0.0.9/s"}]}`
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	args := []string{"once", "-o", "json", "-config", configPath, "-node", "edge-1", "-root", root}
	if err := run(args, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	var pub registrar.Publication
	if err := json.Unmarshal(out.Bytes(), &pub); err != nil {
		t.Fatalf("decode output: %v\n%s", err, out.String())
	}
	if pub.ServiceID != "camera-storage-edge-1" {
		t.Errorf("service id = %q, want the -node flag to override the file", pub.ServiceID)
	}
	if got := strings.Join(pub.Tags, " "); got != "camera:cam-1 camera:cam-live" {
		t.Errorf("tags = %q, want camera:cam-1 camera:cam-live", got)
	}
	if strings.Contains(out.String(), "u:p@") {
		t.Errorf("output contains the stream credentials:\n%s", out.String())
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	configPath := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(configPath, []byte(`{"site": "s", "nodes": "typo"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown command", []string{"publish"}, `unknown command "publish"`},
		{"unknown config field", []string{"once", "-config", configPath}, `unknown field "nodes"`},
		{"bad output", []string{"once", "-o", "yaml", "-site", "s", "-node", "n", "-root", "/r"}, `-o "yaml"`},
		{"missing site", []string{"once", "-node", "n", "-root", "/r"}, "site: missing"},
		{"recordings without cert", []string{"once", "-site", "s", "-node", "n", "-root", "/r", "-recordings-listen", ":8443"}, "recordings.cert_file: missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("run error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"once", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(args, &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Errorf("run error = %v, want flag.ErrHelp so that main exits 0", err)
			}
			for _, want := range []string{"ferry-registrar [run]", "ferry-registrar once", "-root"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("help output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestOnceTextNamesUnreadableCameras(t *testing.T) {
	pub := registrar.Publication{
		ServiceID: "camera-storage-edge-1", ServiceName: "camera-storage", Healthy: true,
		Unreadable: map[string]string{"cam-bad": "open /srv/cam-bad: permission denied"},
	}
	var out bytes.Buffer
	if err := printPublication(&out, pub, "text"); err != nil {
		t.Fatalf("printPublication: %v", err)
	}
	want := "unreadable camera cam-bad: open /srv/cam-bad: permission denied"
	if !strings.Contains(out.String(), want) {
		t.Errorf("text output lacks %q:\n%s", want, out.String())
	}
}
