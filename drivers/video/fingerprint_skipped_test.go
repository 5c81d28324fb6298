package video

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestScanInventoryNamesSkippedFiles(t *testing.T) {
	env := newTestEnv(t)
	addRecording(t, env.storage, "north-gate")
	notes := filepath.Join(env.storage, "north-gate", "notes.txt")
	if err := os.WriteFile(notes, []byte("not video"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	env.driver.logger = hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Warn})

	if _, err := env.driver.scanInventory(); err != nil {
		t.Fatalf("scan inventory: %v", err)
	}
	if !strings.Contains(log.String(), "not video recordings") {
		t.Fatalf("log %q has no warning about skipped files", log.String())
	}
	if !strings.Contains(log.String(), notes) {
		t.Errorf("skipped-files warning %q does not name %s", log.String(), notes)
	}
}
