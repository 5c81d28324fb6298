package testdriver

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-video/ferry/plugins"
)

// networkLabel is the spec label that carries the alloc id, which
// DestroyNetwork checks against the request.
const networkLabel = "testdriver_alloc_id"

var _ plugins.NetworkManager = (*Driver)(nil)

// networkDir contains one empty file per group network, standing in for a
// namespace file. It lives outside the plugin process, so CreateNetwork
// finds a network again after a plugin restart.
func networkDir() string {
	return filepath.Join(os.TempDir(), "ferry-testdriver-networks")
}

// CreateNetwork creates the allocation's stand-in namespace file, or
// returns the existing one with created false.
func (d *Driver) CreateNetwork(_ context.Context, allocID string, _ *plugins.NetworkCreateRequest) (*plugins.NetworkIsolation, bool, error) {
	if filepath.Base(allocID) != allocID || allocID == "." {
		return nil, false, fmt.Errorf("invalid alloc id %q: must not contain a path separator", allocID)
	}
	if err := os.MkdirAll(networkDir(), 0o755); err != nil {
		return nil, false, fmt.Errorf("create network dir: %w", err)
	}
	path := filepath.Join(networkDir(), allocID)
	spec := &plugins.NetworkIsolation{
		Mode:   plugins.NetIsolationGroup,
		Path:   path,
		Labels: map[string]string{networkLabel: allocID},
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return spec, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("create network of alloc %q: %w", allocID, err)
	}
	return spec, true, f.Close()
}

// DestroyNetwork removes the allocation's stand-in namespace file.
func (d *Driver) DestroyNetwork(_ context.Context, allocID string, spec *plugins.NetworkIsolation) error {
	if spec != nil && spec.Labels[networkLabel] != allocID {
		return fmt.Errorf("network spec of alloc %q has label %s=%q", allocID, networkLabel, spec.Labels[networkLabel])
	}
	err := os.Remove(filepath.Join(networkDir(), filepath.Base(allocID)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("destroy network of alloc %q: %w", allocID, err)
	}
	return nil
}
