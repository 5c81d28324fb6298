package motion

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNoRecordings reports a camera folder that contains no recordings.
var ErrNoRecordings = errors.New("no recordings")

// ListRecordings returns the paths, relative to dir, of the regular files
// and symbolic links to regular files under dir, sorted by name. Hidden files and folders (names starting with
// a dot) are skipped, because recorders use them for partial writes. It
// returns an error wrapping ErrNoRecordings when dir contains no files and
// one wrapping fs.ErrNotExist when dir does not exist.
func ListRecordings(dir string) ([]string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir && strings.HasPrefix(entry.Name(), ".") {
			if entry.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !isRegularFile(path, entry) {
			return nil
		}
		name, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list recordings in %q: %w", dir, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("camera folder %q: %w", dir, ErrNoRecordings)
	}
	sort.Strings(names)
	return names, nil
}

func isRegularFile(path string, entry fs.DirEntry) bool {
	if entry.Type()&fs.ModeSymlink == 0 {
		return entry.Type().IsRegular()
	}
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}
