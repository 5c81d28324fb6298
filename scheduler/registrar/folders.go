package registrar

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ferry-video/ferry/drivers/video/inventory"
)

// scanProblems is Rescan's error split by what it affects.
type scanProblems struct {
	// roots joins the errors of storage roots that could not be read,
	// which make the node's check critical.
	roots error
	// cameras are the reasons of camera folders that could not be read,
	// by camera id as found on disk. Only those cameras are left out.
	cameras map[string]string
}

// splitScanError sorts the errors that inventory.Rescan joined into
// unreadable roots and unreadable camera folders, by the path of each
// error's fs.PathError. An error without a path, or with one that is no
// known camera folder, counts as a root error, so nothing is hidden.
func splitScanError(err error, roots []string, snap inventory.Snapshot) scanProblems {
	problems := scanProblems{cameras: make(map[string]string)}
	var rootErrs []error
	for _, leaf := range leafErrors(err) {
		var pathErr *fs.PathError
		camera := ""
		if errors.As(leaf, &pathErr) && !isRoot(pathErr.Path, roots) {
			camera = cameraOfDir(snap, pathErr.Path)
		}
		if camera == "" {
			rootErrs = append(rootErrs, leaf)
			continue
		}
		problems.cameras[camera] = leaf.Error()
	}
	problems.roots = errors.Join(rootErrs...)
	return problems
}

// leafErrors flattens errors joined with errors.Join.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, leafErrors(e)...)
	}
	return out
}

func isRoot(path string, roots []string) bool {
	return slices.ContainsFunc(roots, func(root string) bool { return filepath.Clean(root) == filepath.Clean(path) })
}

func cameraOfDir(snap inventory.Snapshot, dir string) string {
	for _, cam := range snap.Cameras {
		if slices.Contains(cam.Dirs, filepath.Clean(dir)) {
			return cam.ID
		}
	}
	return ""
}

// publishable reports whether a camera folder is published, and why not.
// Hidden folders and lost+found are not cameras, a folder without
// recordings has nothing to run on, and an unreadable one is left out so
// that it does not hide the node's other cameras.
func publishable(cam inventory.Camera, unreadable map[string]string) (bool, string) {
	switch {
	case strings.HasPrefix(cam.ID, "."), cam.ID == "lost+found":
		return false, "not a camera folder"
	case unreadable[cam.ID] != "":
		return false, unreadable[cam.ID]
	case cam.Recordings == 0:
		return false, "no recordings"
	}
	return true, ""
}

// healthOutput is the check output: the unreadable roots, then each
// unreadable camera folder, or "" when everything was read.
func healthOutput(problems scanProblems) string {
	var parts []string
	if problems.roots != nil {
		parts = append(parts, problems.roots.Error())
	}
	for _, camera := range slices.Sorted(maps.Keys(problems.cameras)) {
		parts = append(parts, fmt.Sprintf("camera %q not published: %s", camera, problems.cameras[camera]))
	}
	return strings.Join(parts, "\n")
}
