package cluster

import (
	"errors"
	"os"
	"path/filepath"
)

// RepoRoot returns the nearest folder above the working directory that
// contains go.mod, which is the ferry checkout when a command runs inside it.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run this from inside the ferry checkout")
		}
		dir = parent
	}
}
