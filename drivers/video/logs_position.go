package video

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
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

// savePosition writes the position with writeFileAtomic. A failure, such
// as a full disk, leaves the previous position file intact.
// NOTE: this costs one fsync per copied log message, which may slow a task
// that writes many lines a second.
func (c *logCopier) savePosition() error {
	data, err := json.Marshal(c.position)
	if err != nil {
		return err
	}
	return writeFileAtomic(c.positionPath, data)
}

// writeFileAtomic writes data to a temporary file in the folder of path,
// syncs it and renames it over path, so that a crash leaves either the old
// or the new content, and a write error leaves the old content and no
// temporary file.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
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
	return os.Rename(tmp.Name(), path)
}

// reportSaveError logs and publishes a task event for the first failed save
// after a successful one, so that a full disk yields one event and not one
// per log line.
func (c *logCopier) reportSaveError(err error) {
	if c.saveFailing {
		return
	}
	c.saveFailing = true
	// NOTE: lines written since the last saved position are written
	// again if the plugin restarts before a later save succeeds.
	c.h.logger.Warn("failed to save log position", "path", c.positionPath, "error", err)
	if c.publish != nil {
		c.publish(fmt.Sprintf("failed to save log position: %s: free disk space in the task dir, because lines copied after the last saved position are copied again after a plugin restart",
			describeWriteError(err)))
	}
}

// reportSaveRecovered logs the first successful save after a failed one.
func (c *logCopier) reportSaveRecovered() {
	if !c.saveFailing {
		return
	}
	c.saveFailing = false
	c.h.logger.Info("saved log position again", "path", c.positionPath)
	if c.publish != nil {
		c.publish("saved log position again")
	}
}

// describeWriteError puts the system error, such as "no space left on
// device", before the rest of err.
func describeWriteError(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%v)", errno.Error(), err)
	}
	return err.Error()
}
