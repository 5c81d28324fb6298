package video

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// logFile appends one stream of a task to Nomad's rotated log files
// "<task>.<stream>.<index>" in the allocation's alloc/logs folder, so that
// `nomad alloc logs` reads them as it reads files of Nomad's own log
// collector. The naming and rotation follow Nomad 2.0's logmon rotator:
//   - writes continue in the highest existing index;
//   - a line that does not fit in the current file starts the next one,
//     unless it is longer than a whole file;
//   - rotation skips an existing full file;
//   - only the newest maxFiles files are kept.
type logFile struct {
	dir      string
	base     string // "<task>.stdout" or "<task>.stderr"
	maxFiles int
	maxSize  int64
	logger   hclog.Logger

	index int
	size  int64
	file  *os.File
}

// openLogFile opens the highest existing index of base in dir, or index 0.
func openLogFile(dir, base string, maxFiles int, maxSize int64, logger hclog.Logger) (*logFile, error) {
	indexes, err := logIndexes(dir, base)
	if err != nil {
		return nil, err
	}
	f := &logFile{dir: dir, base: base, maxFiles: maxFiles, maxSize: maxSize, logger: logger}
	if len(indexes) > 0 {
		f.index = indexes[len(indexes)-1]
	}
	if err := f.open(); err != nil {
		return nil, err
	}
	return f, nil
}

// logIndexes returns the sorted indexes of the files named "<base>.<index>"
// in dir.
func logIndexes(dir, base string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list log folder %q: %w", dir, err)
	}
	var indexes []int
	for _, e := range entries {
		suffix, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || e.IsDir() {
			continue
		}
		n, err := strconv.Atoi(suffix)
		if err != nil || n < 0 {
			continue
		}
		indexes = append(indexes, n)
	}
	sort.Ints(indexes)
	return indexes, nil
}

func (f *logFile) path(index int) string {
	return filepath.Join(f.dir, f.base+"."+strconv.Itoa(index))
}

func (f *logFile) open() error {
	file, err := os.OpenFile(f.path(f.index), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return fmt.Errorf("stat log file: %w", err)
	}
	f.file, f.size = file, info.Size()
	return nil
}

// Write appends p, rotating to the next index where needed. p is one line
// or the unterminated tail of the stream.
func (f *logFile) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		if f.size >= f.maxSize {
			if err := f.rotate(); err != nil {
				return written, err
			}
		}
		room := f.maxSize - f.size
		chunk := p
		if int64(len(p)) > room {
			if f.size > 0 && int64(len(p)) <= f.maxSize {
				// The line fits in an empty file: keep it whole.
				if err := f.rotate(); err != nil {
					return written, err
				}
				continue
			}
			chunk = p[:room]
		}
		n, err := f.file.Write(chunk)
		f.size += int64(n)
		written += n
		if err != nil {
			return written, fmt.Errorf("write log file %q: %w", f.path(f.index), err)
		}
		p = p[n:]
	}
	return written, nil
}

// rotate closes the current file, opens the next index that is not full and
// removes the oldest files beyond maxFiles. A failed removal is logged and
// does not stop the writes.
func (f *logFile) rotate() error {
	if err := f.file.Close(); err != nil {
		return fmt.Errorf("close log file %q: %w", f.path(f.index), err)
	}
	next := f.index + 1
	for {
		info, err := os.Stat(f.path(next))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return fmt.Errorf("stat log file: %w", err)
		}
		if !info.IsDir() && info.Size() < f.maxSize {
			break
		}
		next++
	}
	f.index = next
	if err := f.open(); err != nil {
		return err
	}
	if err := f.purge(); err != nil {
		f.logger.Warn("failed to remove old log files", "file", f.base, "error", err)
	}
	return nil
}

// purge removes all but the newest maxFiles files.
func (f *logFile) purge() error {
	indexes, err := logIndexes(f.dir, f.base)
	if err != nil {
		return err
	}
	if len(indexes) <= f.maxFiles {
		return nil
	}
	for _, index := range indexes[:len(indexes)-f.maxFiles] {
		if err := os.Remove(f.path(index)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove old log file: %w", err)
		}
	}
	return nil
}

// bytesAfter returns how many bytes the files hold beyond size bytes of
// file index, counting every higher index too.
func (f *logFile) bytesAfter(index int, size int64) (int64, error) {
	indexes, err := logIndexes(f.dir, f.base)
	if err != nil {
		return 0, err
	}
	var extra int64
	for _, i := range indexes {
		if i < index {
			continue
		}
		info, err := os.Stat(f.path(i))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("stat log file: %w", err)
		}
		if i == index {
			extra += max(info.Size()-size, 0)
		} else {
			extra += info.Size()
		}
	}
	return extra, nil
}

func (f *logFile) Close() error { return f.file.Close() }
