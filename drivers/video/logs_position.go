package video

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// logPositionFile is the file in the task dir that stores how far the
// container's output has been copied into the log files.
const logPositionFile = ".video-log-position.json"

// logPosition is the copy position of one container's streams.
type logPosition struct {
	// ContainerID is the container the position belongs to. A task
	// restarted by Nomad runs a new container and starts a new position.
	ContainerID string         `json:"container_id"`
	Stdout      streamPosition `json:"stdout"`
	Stderr      streamPosition `json:"stderr"`
}

// streamPosition is the last copied line of a stream and where the files
// ended after it.
type streamPosition struct {
	// Since is the Docker timestamp of the last copied line, or zero.
	Since time.Time `json:"since"`
	// Index is the log file index and Size its size in bytes after that
	// line.
	Index int   `json:"index"`
	Size  int64 `json:"size"`
}

// loadPosition reads the saved position and reports whether it belongs to
// the task's container.
func (c *logCopier) loadPosition() (bool, error) {
	data, err := os.ReadFile(c.positionPath)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var pos logPosition
	if err := json.Unmarshal(data, &pos); err != nil {
		return false, fmt.Errorf("decode %q: %w", c.positionPath, err)
	}
	if pos.ContainerID != c.h.state.ContainerID {
		return false, nil
	}
	c.position = pos
	return true, nil
}

// savePosition writes the position to a temporary file, syncs it and renames
// it over the old one, so that a crash leaves either the old or the new
// position.
// NOTE: this costs one fsync per copied log message, which may slow a task
// that writes many lines a second.
func (c *logCopier) savePosition() error {
	data, err := json.Marshal(c.position)
	if err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(c.positionPath), logPositionFile+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), c.positionPath)
}
