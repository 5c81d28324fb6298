package video

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/drivers/video/inventory"
)

// A camera folder whose name needs sanitising runs under the id that the
// registrar publishes for it, and the fingerprint lists that same id.
func TestStartTaskWithSanitizedCameraID(t *testing.T) {
	env := newTestEnv(t)
	addRecording(t, env.storage, "North Gate!")
	id := inventory.SanitizeID("North Gate!")

	snap, err := env.driver.scanInventory()
	if err != nil {
		t.Fatalf("scan inventory: %v", err)
	}
	attrs := cameraAttributes(snap)
	if got := attrs[attrCameras].String; got != id {
		t.Errorf("%s = %q, want %q", attrCameras, got, id)
	}
	if _, ok := attrs[attrCameraPrefix+id]; !ok {
		t.Errorf("attribute %s missing", attrCameraPrefix+id)
	}

	config := shellTask("ls /recordings/" + id)
	config["cameras"] = cty.ListVal([]cty.Value{cty.StringVal(id)})
	task := env.newTask("odd-id", config)
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask with camera %q: %v", id, err)
	}
	waitExit(t, env.driver, task.cfg.ID)
	task.stdout.waitFor(t, "vtest.avi", 20*time.Second)
	if !strings.Contains(task.stdout.String(), "vtest.avi") {
		t.Errorf("stdout = %q, want the recording listed", task.stdout.String())
	}
}
