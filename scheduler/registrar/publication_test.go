package registrar

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/drivers/video/inventory"
)

func TestSanitizeID(t *testing.T) {
	cases := []struct {
		name   string
		id     string
		unsafe bool
	}{
		{"plain", "cam-01", false},
		{"dots and underscores", "north_gate.2", false},
		{"space", "cam 7", true},
		{"comma", "a,b", true},
		{"colon and slash", "rtsp:/x", true},
		{"unicode", "cámara", true},
		{"empty", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := SanitizeID(tc.id)
			if unsafeChars.MatchString(got) || got == "" {
				t.Errorf("SanitizeID(%q) = %q, still has unsafe characters or is empty", tc.id, got)
			}
			if !tc.unsafe && got != tc.id {
				t.Errorf("SanitizeID(%q) = %q, want it unchanged", tc.id, got)
			}
		})
	}

	if SanitizeID("a b") == SanitizeID("a_b") {
		t.Errorf("SanitizeID maps %q and %q to the same id", "a b", "a_b")
	}
}

func TestBuildPublication(t *testing.T) {
	cfg := &Config{
		Site: "downtown", Node: "edge-1",
		Roots:        []string{"/srv/video"},
		ReplicaRoots: []string{"/srv/replica"},
		Streams: []Stream{
			{Camera: "cam-live", URL: "rtsp://admin:secret@10.0.0.5/stream1"},
			{Camera: "cam-a", URL: "rtsp://10.0.0.6/main"},
		},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	first := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	snap := inventory.Snapshot{Cameras: []inventory.Camera{
		{ID: "cam-a", Dirs: []string{"/srv/video/cam-a"}, Bytes: 3600 * 1000, Recordings: 2},
		{ID: "cam b", Dirs: []string{"/srv/replica/cam b"}, Bytes: 10, Recordings: 1},
	}}
	spans := map[string]inventory.Span{
		"cam-a": {First: first, Last: first.Add(time.Hour), Formats: []string{"avi"}},
	}

	pub := Build(cfg, snap, spans, nil, nil)

	wantTags := []string{"camera:cam-a", "camera:cam-live", "camera:" + SanitizeID("cam b")}
	if !reflect.DeepEqual(pub.Tags, wantTags) {
		t.Errorf("tags = %v, want %v", pub.Tags, wantTags)
	}
	wantMeta := map[string]string{"site": "downtown", "node": "edge-1", "cameras": "3"}
	if !reflect.DeepEqual(pub.Meta, wantMeta) {
		t.Errorf("meta = %v, want %v", pub.Meta, wantMeta)
	}
	if pub.ServiceID != "camera-storage-edge-1" {
		t.Errorf("service id = %q, want camera-storage-edge-1", pub.ServiceID)
	}

	a := pub.Details["ferry/storage/edge-1/cam-a"]
	if a.BitrateBPS != 8000 {
		t.Errorf("cam-a bitrate = %d, want 8000", a.BitrateBPS)
	}
	if a.StreamURL != "rtsp://10.0.0.6/main" || a.Recordings != 2 || a.Replica {
		t.Errorf("cam-a detail = %+v, want stream URL, 2 recordings, not a replica", a)
	}
	b := pub.Details["ferry/storage/edge-1/"+SanitizeID("cam b")]
	if !b.Replica || b.Camera != "cam b" {
		t.Errorf("cam b detail = %+v, want a replica with the original id", b)
	}
	live := pub.Details["ferry/storage/edge-1/cam-live"]
	if strings.Contains(live.StreamURL, "secret") || live.StreamURL != "rtsp://10.0.0.5/stream1" {
		t.Errorf("cam-live stream URL = %q, want it without user and password", live.StreamURL)
	}
	if !pub.Healthy {
		t.Errorf("healthy = false, want true with no scan error")
	}
}

func TestBuildUnhealthyOnScanError(t *testing.T) {
	cfg := &Config{Site: "s", Node: "n", Roots: []string{"/x"}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pub := Build(cfg, inventory.Snapshot{}, nil, nil, errors.New("read camera storage root \"/x\": permission denied"))
	if pub.Healthy {
		t.Errorf("healthy = true, want false")
	}
	if !strings.Contains(pub.HealthOutput, "/x") {
		t.Errorf("health output = %q, want it to name the root", pub.HealthOutput)
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"valid", Config{Site: "s", Node: "n1", Roots: []string{"/v"}}, ""},
		{"missing site", Config{Node: "n1", Roots: []string{"/v"}}, "site: missing"},
		{"bad node", Config{Site: "s", Node: "n/1", Roots: []string{"/v"}}, `node "n/1": invalid`},
		{"no roots", Config{Site: "s", Node: "n1"}, "roots: missing"},
		{"short period", Config{Site: "s", Node: "n1", Roots: []string{"/v"}, Period: Duration(time.Millisecond)}, "period 1ms: too short"},
		{"bad stream", Config{Site: "s", Node: "n1", Streams: []Stream{{Camera: "c", URL: "nohost"}}}, `streams[0].url "nohost": invalid`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if tc.cfg.ServiceName != "camera-storage" || tc.cfg.ConsulAddr != "127.0.0.1:8500" {
					t.Errorf("defaults not applied: %+v", tc.cfg)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestBackoffDoublesToMax(t *testing.T) {
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
}
