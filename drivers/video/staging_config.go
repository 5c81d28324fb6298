package video

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
)

// StagingConfig is the `staging` block of the plugin config.
type StagingConfig struct {
	// Peers are the base URLs of nodes that serve recordings, such as
	// "https://10.0.0.7:4647", tried in order.
	Peers []string `codec:"peers"`
	// TokenFile is the file that contains the bearer token sent to peers.
	// Required with peers.
	TokenFile string `codec:"token_file"`
	// CAFile is a PEM file of the CA certificates that sign the peers'
	// certificates. Default: the system's roots.
	CAFile string `codec:"ca_file"`
}

// enabled reports whether the block names any peer.
func (c *StagingConfig) enabled() bool { return c != nil && len(c.Peers) > 0 }

func (c *StagingConfig) validate() error {
	for i, peer := range c.Peers {
		u, err := url.Parse(peer)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("invalid staging.peers[%d] %q: use an https URL with a host and port, such as \"https://10.0.0.7:4647\"", i, peer)
		}
		c.Peers[i] = strings.TrimSuffix(peer, "/")
	}
	if len(c.Peers) == 0 {
		return nil
	}
	if c.TokenFile == "" {
		return fmt.Errorf("missing staging.token_file: set it to the file that contains the bearer token of the peers")
	}
	if !filepath.IsAbs(c.TokenFile) {
		return fmt.Errorf("invalid staging.token_file %q: use an absolute path", c.TokenFile)
	}
	if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
		return fmt.Errorf("invalid staging.ca_file %q: use an absolute path", c.CAFile)
	}
	return nil
}

// stagingDir returns the folder a staged camera's recordings are copied
// into. It is in the task dir but outside local/ and secrets/, which the
// container mounts read-write, so the task reaches the copy only through its
// read-only recordings mount.
func stagingDir(cfg *plugins.TaskConfig, camera string) string {
	return filepath.Join(cfg.TaskDir(), "staged", camera)
}

// stageMissingCameras copies each requested camera that this node does not
// hold from a staging peer, and returns their folders by camera id. It does
// nothing without staging peers. Failures are recoverable, because a peer
// may be reachable on the next attempt.
// NOTE: a failed staging leaves the partial files in the task dir, so that
// the next attempt resumes them.
func (d *Driver) stageMissingCameras(ctx context.Context, plugin *PluginConfig, cfg *plugins.TaskConfig, task *TaskConfig, snap inventory.Snapshot) (map[string]string, error) {
	if !plugin.Staging.enabled() {
		return nil, nil
	}
	var s *stager
	staged := make(map[string]string)
	for _, camera := range task.Cameras {
		if _, ok := snap.Camera(camera); ok {
			continue
		}
		if s == nil {
			var err error
			if s, err = newStager(plugin.Staging, d.logger.Named("staging")); err != nil {
				return nil, err
			}
		}

		dest := stagingDir(cfg, camera)
		result, err := s.stage(ctx, camera, dest)
		if err != nil {
			return nil, plugins.Recoverable(err)
		}
		d.logger.Info("staged camera", "task_id", cfg.ID, "alloc_id", cfg.AllocID, "camera", camera, "peer", result.Peer, "bytes", result.Bytes)
		d.publishEvent(cfg, fmt.Sprintf("Staged camera %s: copied %d bytes of recordings from %s, because this node stores none of them", camera, result.Bytes, result.Peer))
		staged[camera] = dest
	}
	return staged, nil
}
