package registrar

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync"
	"time"
)

// checksumCache stores the SHA-256 of each recording, keyed by path and
// valid while the file keeps its size and modification time. Concurrent
// requests for the same file wait for one computation.
//
// NOTE: entries of deleted files stay until the process restarts, and a
// file rewritten during hashing with its size and time restored afterwards
// keeps a wrong sum.
type checksumCache struct {
	mu      sync.Mutex
	entries map[string]*checksumEntry
}

// checksumEntry is one file's checksum, or the computation in progress.
type checksumEntry struct {
	size    int64
	modTime time.Time
	// ready is closed once sum and err are set.
	ready chan struct{}
	sum   string
	err   error
}

func newChecksumCache() *checksumCache {
	return &checksumCache{entries: make(map[string]*checksumEntry)}
}

// sum returns the hex SHA-256 of the file at path with the given size and
// modification time, reading it through open only when no cached value
// matches. A failed computation is not cached.
func (c *checksumCache) sum(path string, size int64, modTime time.Time, open func() (io.ReadCloser, error)) (string, error) {
	c.mu.Lock()
	entry, ok := c.entries[path]
	if ok && entry.size == size && entry.modTime.Equal(modTime) {
		c.mu.Unlock()
		<-entry.ready
		return entry.sum, entry.err
	}
	entry = &checksumEntry{size: size, modTime: modTime, ready: make(chan struct{})}
	c.entries[path] = entry
	c.mu.Unlock()

	entry.sum, entry.err = hashFile(open)
	close(entry.ready)
	if entry.err != nil {
		c.mu.Lock()
		if c.entries[path] == entry {
			delete(c.entries, path)
		}
		c.mu.Unlock()
	}
	return entry.sum, entry.err
}

func hashFile(open func() (io.ReadCloser, error)) (string, error) {
	file, err := open()
	if err != nil {
		return "", err
	}
	defer file.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, file); err != nil {
		return "", err
	}
	return hex.EncodeToString(hash.Sum(nil)), nil
}
