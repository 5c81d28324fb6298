package video

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

func nullPluginConfig() map[string]cty.Value {
	return map[string]cty.Value{
		"endpoint":           cty.NullVal(cty.String),
		"camera_storage":     cty.NullVal(cty.List(cty.String)),
		"allowed_host_paths": cty.NullVal(cty.List(cty.String)),
		"allow_privileged":   cty.NullVal(cty.Bool),
		"gc":                 cty.NullVal(cty.Object(map[string]cty.Type{"image": cty.Bool, "image_delay": cty.String})),
		"fingerprint_period": cty.NullVal(cty.String),
		"pull_timeout":       cty.NullVal(cty.String),
	}
}

func TestSetConfigDefaults(t *testing.T) {
	d := New(hclog.NewNullLogger())
	if err := d.SetConfig(encodeCty(t, nullPluginConfig()), nil); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	cfg, _ := d.state()
	if cfg.Endpoint != defaultEndpoint {
		t.Errorf("endpoint = %q, want %q", cfg.Endpoint, defaultEndpoint)
	}
	if cfg.fingerprintPeriod != defaultFingerprintPeriod {
		t.Errorf("fingerprint period = %s, want %s", cfg.fingerprintPeriod, defaultFingerprintPeriod)
	}
	if cfg.pullTimeout != defaultPullTimeout {
		t.Errorf("pull timeout = %s, want %s", cfg.pullTimeout, defaultPullTimeout)
	}
	if !*cfg.GC.Image {
		t.Error("gc.image = false, want true")
	}
	if cfg.GC.imageDelay != defaultImageDelay {
		t.Errorf("gc.image_delay = %s, want %s", cfg.GC.imageDelay, defaultImageDelay)
	}
	if cfg.AllowPrivileged {
		t.Error("allow_privileged = true, want false")
	}
}

func TestSetConfigRejectsInvalid(t *testing.T) {
	cases := []struct {
		name     string
		field    string
		value    cty.Value
		wantText string
	}{
		{"bad period", "fingerprint_period", cty.StringVal("soon"), `fingerprint_period "soon"`},
		{"negative pull timeout", "pull_timeout", cty.StringVal("-1s"), `pull_timeout "-1s"`},
		{"relative storage", "camera_storage", cty.ListVal([]cty.Value{cty.StringVal("videos")}), `camera_storage[0] "videos"`},
		{"relative allowed path", "allowed_host_paths", cty.ListVal([]cty.Value{cty.StringVal("data")}), `allowed_host_paths[0] "data"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			config := nullPluginConfig()
			config[tc.field] = tc.value
			err := New(hclog.NewNullLogger()).SetConfig(encodeCty(t, config), nil)
			if err == nil {
				t.Fatal("SetConfig succeeded")
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestParseVolume(t *testing.T) {
	allowed := t.TempDir()
	inside := filepath.Join(allowed, "models")
	if err := os.Mkdir(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	escape := filepath.Join(allowed, "escape")
	if err := os.Symlink(t.TempDir(), escape); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		volume       string
		wantErr      string
		wantReadOnly bool
	}{
		{"read-write", inside + ":/models", "", false},
		{"read-only", inside + ":/models:ro", "", true},
		{"bad mode", inside + ":/models:xx", "invalid volume", false},
		{"relative host", "models:/models", "must be absolute", false},
		{"symlink out of root", escape + ":/data", "outside allowed_host_paths", false},
		{"missing host path", filepath.Join(allowed, "none") + ":/data", "host path", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseVolume(tc.volume, []string{allowed})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseVolume: %v", err)
			}
			if m.ReadOnly != tc.wantReadOnly {
				t.Errorf("read-only = %v, want %v", m.ReadOnly, tc.wantReadOnly)
			}
		})
	}
}

func TestFingerprintDeadSocket(t *testing.T) {
	d := New(hclog.NewNullLogger())
	config := nullPluginConfig()
	config["endpoint"] = cty.StringVal("unix://" + filepath.Join(t.TempDir(), "missing.sock"))
	if err := d.SetConfig(encodeCty(t, config), nil); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}

	fp := <-stream
	if fp.Health != plugins.HealthUnhealthy {
		t.Errorf("health = %v, want unhealthy", fp.Health)
	}
	if fp.Err != "" {
		t.Errorf("fingerprint error = %q, want none, because Nomad then hides the description", fp.Err)
	}
	if !strings.HasPrefix(fp.Description, dockerUnreachable+": ") {
		t.Errorf("description = %q, want %q and the reason", fp.Description, dockerUnreachable+": ")
	}
}

func TestFingerprintSendsOnlyChanges(t *testing.T) {
	env := newTestEnv(t)
	clk := newManualClock()
	env.driver.clock = clk
	size := addRecording(t, env.storage, "cam-1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := env.driver.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}

	first := <-stream
	if first.Health != plugins.HealthHealthy || first.Description != healthyDesc {
		t.Errorf("health = %v %q, want healthy %q", first.Health, first.Description, healthyDesc)
	}
	if first.Attributes[attrVersion].String == "" {
		t.Error("docker version attribute is empty")
	}
	if got := first.Attributes[attrCameraPrefix+"cam-1"].Int; got != size {
		t.Errorf("cam-1 bytes = %d, want %d", got, size)
	}
	if got := first.Attributes[attrCameras].String; got != "cam-1" {
		t.Errorf("cameras = %q, want %q", got, "cam-1")
	}

	// The camera folder appears in one rename, so that a scan never sees
	// it half written.
	staging := t.TempDir()
	addRecording(t, staging, "cam.2")
	if err := os.Rename(filepath.Join(staging, "cam.2"), filepath.Join(env.storage, "cam.2")); err != nil {
		t.Fatal(err)
	}
	clk.ticks <- time.Now()
	second := <-stream
	if got := second.Attributes[attrCameras].String; got != "cam-1,cam.2" {
		t.Errorf("cameras = %q, want %q", got, "cam-1,cam.2")
	}
	if _, ok := second.Attributes[attrCameraPrefix+"cam_2"]; !ok {
		t.Errorf("attribute %s missing", attrCameraPrefix+"cam_2")
	}
	if got := second.Attributes[attrRecordings].Int; got != 2 {
		t.Errorf("recordings = %d, want 2", got)
	}

	// The second tick is received only after the first one's fingerprint
	// was built, so an unchanged fingerprint would now be buffered.
	clk.ticks <- time.Now()
	clk.ticks <- time.Now()
	select {
	case fp := <-stream:
		t.Errorf("unchanged fingerprint was sent again: %+v", fp.Attributes)
	default:
	}
}

func TestTaskConfigLabels(t *testing.T) {
	labelMap := func(kv ...string) cty.Value {
		m := make(map[string]cty.Value)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = cty.StringVal(kv[i+1])
		}
		return cty.MapVal(m)
	}
	tests := []struct {
		name    string
		labels  cty.Value
		want    map[string]string
		wantErr string
	}{
		{"none", cty.NullVal(cty.List(cty.Map(cty.String))), map[string]string{}, ""},
		{"one map", cty.ListVal([]cty.Value{labelMap("team", "traffic", "zone", "north")}),
			map[string]string{"team": "traffic", "zone": "north"}, ""},
		{"two maps merged", cty.ListVal([]cty.Value{labelMap("team", "traffic"), labelMap("zone", "north")}),
			map[string]string{"team": "traffic", "zone": "north"}, ""},
		{"key set twice", cty.ListVal([]cty.Value{labelMap("team", "traffic"), labelMap("team", "parking")}),
			nil, `label "team" is set twice`},
		{"reserved prefix", cty.ListVal([]cty.Value{labelMap(labelAllocID, "x")}),
			nil, "is reserved for the driver"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeCty(t, map[string]cty.Value{"image": cty.StringVal(testImage), "labels": tt.labels})
			task := &TaskConfig{}
			if err := plugins.DecodeConfig(data, task); err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			err := task.validate(&PluginConfig{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("validate error = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if len(task.labels) != len(tt.want) {
				t.Errorf("labels = %v, want %v", task.labels, tt.want)
			}
			for key, want := range tt.want {
				if got := task.labels[key]; got != want {
					t.Errorf("label %q = %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestTaskConfigSpecLabelsIsListOfMaps(t *testing.T) {
	spec := taskConfigSpec.Object.Attributes["labels"]
	if spec == nil || spec.Attr == nil {
		t.Fatal("task config spec has no labels attribute")
	}
	if attr := spec.Attr; attr.Type != "list(map(string))" {
		t.Errorf("labels type = %q, want list(map(string)), the form Nomad's client sends", attr.Type)
	}
}
