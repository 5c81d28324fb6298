// Package inventory tracks the camera recordings a node holds. Each storage
// root contains one folder per camera id, and each folder contains that
// camera's recordings as files. A rescan reads again only the camera folders
// whose modification time changed, plus the newest file of every camera,
// which a recorder may still be appending to.
package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Camera is the recordings one camera has on this node.
type Camera struct {
	ID string
	// Dirs are the camera's folders, one per storage root that has it, in
	// the order of the roots.
	Dirs       []string
	Bytes      int64
	Recordings int
}

// Snapshot is the result of one scan.
type Snapshot struct {
	// Cameras are sorted by ID.
	Cameras []Camera
	// Skipped counts files in camera folders that are not recognised as
	// video recordings.
	Skipped int
	// SkippedFiles are the paths of the first MaxSkippedFiles of those
	// files, in lexical order, so that a log line can name them.
	SkippedFiles []string
}

// MaxSkippedFiles is how many skipped files a Snapshot names.
const MaxSkippedFiles = 5

// Camera returns the camera with the given id: the folder name, or the
// SanitizeID of a folder name that needed sanitising, as the registrar
// publishes it.
func (s Snapshot) Camera(id string) (Camera, bool) {
	i := sort.Search(len(s.Cameras), func(i int) bool { return s.Cameras[i].ID >= id })
	if i < len(s.Cameras) && s.Cameras[i].ID == id {
		return s.Cameras[i], true
	}
	for _, cam := range s.Cameras {
		if !IsSafeID(cam.ID) && SanitizeID(cam.ID) == id {
			return cam, true
		}
	}
	return Camera{}, false
}

// SanitizedIDs returns the SanitizeID of every camera, sorted.
func (s Snapshot) SanitizedIDs() []string {
	ids := make([]string, len(s.Cameras))
	for i, c := range s.Cameras {
		ids[i] = SanitizeID(c.ID)
	}
	sort.Strings(ids)
	return ids
}

// IDs returns the sorted camera ids.
func (s Snapshot) IDs() []string {
	ids := make([]string, len(s.Cameras))
	for i, c := range s.Cameras {
		ids[i] = c.ID
	}
	return ids
}

// Inventory caches what earlier scans found. It is not safe for concurrent
// use.
type Inventory struct {
	roots   []string
	folders map[string]*cameraFolder // by folder path
}

type cameraFolder struct {
	id      string
	modTime time.Time
	files   map[string]fileEntry // by file name
	newest  string
}

type fileEntry struct {
	size    int64
	modTime time.Time
	format  string // FormatUnknown for files that are not recordings
}

// New returns an inventory of the given storage roots. Nothing is read until
// Rescan.
func New(roots []string) *Inventory {
	return &Inventory{
		roots:   append([]string(nil), roots...),
		folders: make(map[string]*cameraFolder),
	}
}

// Rescan updates the inventory from disk. A root that cannot be read is
// reported in the error, and the snapshot still contains every other root.
func (inv *Inventory) Rescan() (Snapshot, error) {
	seen := make(map[string]bool)
	var errs []error
	for _, root := range inv.roots {
		if err := inv.scanRoot(root, seen); err != nil {
			errs = append(errs, err)
		}
	}
	for path := range inv.folders {
		if !seen[path] {
			delete(inv.folders, path)
		}
	}
	return inv.snapshot(), errors.Join(errs...)
}

func (inv *Inventory) scanRoot(root string, seen map[string]bool) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("read camera storage root %q: %w", root, err)
	}

	var errs []error
	for _, entry := range entries {
		path := filepath.Join(root, entry.Name())
		info, err := os.Stat(path)
		if err != nil || !info.IsDir() {
			continue
		}
		seen[path] = true
		if err := inv.scanFolder(path, entry.Name(), info.ModTime()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (inv *Inventory) scanFolder(path, id string, modTime time.Time) error {
	folder, ok := inv.folders[path]
	if ok && folder.modTime.Equal(modTime) {
		folder.refresh(path, folder.newest)
		return nil
	}
	if !ok {
		folder = &cameraFolder{id: id, files: make(map[string]fileEntry)}
		inv.folders[path] = folder
	}

	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("read camera folder %q: %w", path, err)
	}
	folder.modTime = modTime
	folder.reread(path, entries)
	return nil
}

// reread rebuilds the file list after the folder changed. Known files keep
// their cached entry, except the previous newest file, which the recorder
// may have finished since the last scan.
func (f *cameraFolder) reread(path string, entries []fs.DirEntry) {
	previous := f.files
	f.files = make(map[string]fileEntry, len(entries))
	for _, entry := range entries {
		if !entry.Type().IsRegular() {
			continue
		}
		name := entry.Name()
		if cached, ok := previous[name]; ok && name != f.newest {
			f.files[name] = cached
			continue
		}
		f.refresh(path, name)
	}
	f.newest = f.findNewest()
	if f.newest != "" {
		f.refresh(path, f.newest)
	}
}

// refresh reads one file's size, time and format again. A file that vanished
// is dropped.
func (f *cameraFolder) refresh(path, name string) {
	if name == "" {
		return
	}
	filePath := filepath.Join(path, name)
	info, err := os.Stat(filePath)
	if err != nil || !info.Mode().IsRegular() {
		delete(f.files, name)
		return
	}

	entry := fileEntry{size: info.Size(), modTime: info.ModTime()}
	cached, ok := f.files[name]
	if ok && cached.format != FormatUnknown {
		entry.format = cached.format
	} else if format, err := detectFileFormat(filePath); err == nil {
		entry.format = format
	}
	f.files[name] = entry
}

func (f *cameraFolder) findNewest() string {
	newest := ""
	var newestTime time.Time
	for name, entry := range f.files {
		if newest == "" || entry.modTime.After(newestTime) ||
			(entry.modTime.Equal(newestTime) && name > newest) {
			newest, newestTime = name, entry.modTime
		}
	}
	return newest
}

func (inv *Inventory) snapshot() Snapshot {
	byID := make(map[string]*Camera)
	var snap Snapshot
	for _, root := range inv.roots {
		for path, folder := range inv.folders {
			if filepath.Dir(path) != filepath.Clean(root) {
				continue
			}
			cam := byID[folder.id]
			if cam == nil {
				cam = &Camera{ID: folder.id}
				byID[folder.id] = cam
			}
			cam.Dirs = append(cam.Dirs, path)
			for name, entry := range folder.files {
				if entry.format == FormatUnknown {
					snap.Skipped++
					snap.SkippedFiles = addSkippedFile(snap.SkippedFiles, filepath.Join(path, name))
					continue
				}
				cam.Bytes += entry.size
				cam.Recordings++
			}
		}
	}

	for _, cam := range byID {
		snap.Cameras = append(snap.Cameras, *cam)
	}
	sort.Slice(snap.Cameras, func(i, j int) bool { return snap.Cameras[i].ID < snap.Cameras[j].ID })
	return snap
}

// addSkippedFile inserts path into the sorted list of skipped files and
// keeps the first MaxSkippedFiles, so the list does not grow with the
// number of skipped files.
func addSkippedFile(files []string, path string) []string {
	i := sort.SearchStrings(files, path)
	if i >= MaxSkippedFiles {
		return files
	}
	files = append(files, "")
	copy(files[i+1:], files[i:])
	files[i] = path
	if len(files) > MaxSkippedFiles {
		files = files[:MaxSkippedFiles]
	}
	return files
}
