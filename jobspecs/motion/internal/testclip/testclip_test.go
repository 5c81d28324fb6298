package testclip

import (
	"os"
	"testing"
)

func TestGenerateCuts(t *testing.T) {
	path := generateCuts(t)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("generated clip: %v", err)
	}
	if info.Size() == 0 {
		t.Errorf("generated clip %q is empty", path)
	}
}
