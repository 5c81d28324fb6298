package video

import "fmt"

// LogsConfig is the `logs` block of the plugin config, with the same
// meaning and defaults as a Nomad task's `logs` block.
type LogsConfig struct {
	// MaxFiles is how many files of each stream are kept. Default 10.
	MaxFiles int `codec:"max_files"`
	// MaxFileSizeMB is the size in MiB at which a file is rotated.
	// Default 10.
	MaxFileSizeMB int `codec:"max_file_size_mb"`

	maxFileSize int64 // bytes
}

// validate applies the defaults of zero fields and rejects negative ones.
func (c *LogsConfig) validate() error {
	if c.MaxFiles < 0 {
		return fmt.Errorf("invalid logs.max_files %d: use a positive count, default 10", c.MaxFiles)
	}
	if c.MaxFileSizeMB < 0 {
		return fmt.Errorf("invalid logs.max_file_size_mb %d: use a positive size in MiB, default 10", c.MaxFileSizeMB)
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = 10
	}
	if c.MaxFileSizeMB == 0 {
		c.MaxFileSizeMB = 10
	}
	c.maxFileSize = int64(c.MaxFileSizeMB) << 20
	return nil
}
