package video_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/drivers/video"
)

func TestConformanceBadTaskConfig(t *testing.T) {
	image := fmt.Sprintf("image = %q\n", video.TestImage)
	tests := []struct {
		name string
		hcl  string
		// encodeErr is set when the harness, playing Nomad, rejects the
		// config against the plugin's schema before StartTask.
		encodeErr bool
		want      []string
	}{
		{"unknown field", image + "bogus = 1\n", true, []string{`"bogus"`, "not expected"}},
		{"wrong type", image + "cameras = 3\n", true, []string{"cameras", "list of string required"}},
		{"missing image attribute", "args = []\n", true, []string{`"image"`, "required"}},
		{"empty image", "image = \"\"\n", false, []string{"missing image", "set image"}},
		{"camera not on node", image + "cameras = [\"south-gate\"]\n", false,
			[]string{`"south-gate"`, cameraID, "${attr.driver.video.cameras} set_contains \"south-gate\""}},
		{"volume outside allowed paths", image + "volumes = [\"/etc:/host-etc\"]\n", false,
			[]string{"/etc", "allowed_host_paths"}},
		{"privileged not allowed", image + "privileged = true\n", false,
			[]string{"privileged", "allow_privileged = true"}},
		{"image not in registry", "image = \"127.0.0.1:1/ferry-test/missing:1\"\n", false,
			[]string{`"127.0.0.1:1/ferry-test/missing:1"`, "check the image name"}},
	}
	p := launchVideo(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t, time.Minute)
			data, err := p.EncodeTaskConfig(ctx, []byte(tt.hcl), "task.hcl")
			if tt.encodeErr {
				if err == nil {
					t.Fatalf("EncodeTaskConfig succeeded, want an error")
				}
				checkMessage(t, err.Error(), tt.want)
				return
			}
			if err != nil {
				t.Fatalf("EncodeTaskConfig: %v", err)
			}

			alloc, cfg := p.newTask(t, "bad", "image = \"x\"\n")
			cfg.DriverConfig = data
			_, _, err = p.Driver.StartTask(ctx, cfg)
			if err == nil {
				t.Fatalf("StartTask succeeded, want an error")
			}
			t.Logf("StartTask error: %v", err)
			checkMessage(t, err.Error(), tt.want)
			if left := containers(t, alloc.AllocID); len(left) != 0 {
				t.Errorf("containers after failed StartTask = %d, want 0", len(left))
			}
		})
	}
}

func checkMessage(t *testing.T, msg string, want []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
}
