// Package footage finds OpenCV's sample street footage, vtest.avi, for the
// demo and the end-to-end suite, and cuts it into per-camera recordings.
package footage

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// sharedFootage is the sample footage beside a checkout, relative to the
// repository root.
const sharedFootage = "../shared/data/vtest.avi"

// Find returns the path of vtest.avi, OpenCV's sample street
// footage: the shared copy when it exists, else one extracted from Debian's
// opencv-doc package into cacheDir.
func Find(ctx context.Context, repoRoot, cacheDir string) (string, error) {
	shared := filepath.Join(repoRoot, sharedFootage)
	if _, err := os.Stat(shared); err == nil {
		return shared, nil
	}

	cached := filepath.Join(cacheDir, "vtest.avi")
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if err := extractFromOpenCVDoc(ctx, cacheDir, cached); err != nil {
		return "", fmt.Errorf("prepare footage: %w (or pass two recordings with --video FILE --video FILE)", err)
	}
	return cached, nil
}

// extractFromOpenCVDoc downloads the opencv-doc package with apt-get,
// unpacks it with dpkg-deb and keeps only examples/data/vtest.avi, which
// Debian ships gzip-compressed in some releases.
func extractFromOpenCVDoc(ctx context.Context, cacheDir, dst string) error {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return err
	}
	work, err := os.MkdirTemp(cacheDir, "opencv-doc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	download := exec.CommandContext(ctx, "apt-get", "download", "opencv-doc")
	download.Dir = work
	if out, err := download.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download opencv-doc failed: %w: %s (run apt-get update first)", err, strings.TrimSpace(string(out)))
	}
	debs, _ := filepath.Glob(filepath.Join(work, "opencv-doc_*.deb"))
	if len(debs) == 0 {
		return errors.New("apt-get download opencv-doc produced no .deb file")
	}

	tree := filepath.Join(work, "tree")
	if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", debs[0], tree).CombinedOutput(); err != nil {
		return fmt.Errorf("dpkg-deb -x %s failed: %w: %s", debs[0], err, strings.TrimSpace(string(out)))
	}

	var found string
	err = filepath.WalkDir(tree, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (d.Name() == "vtest.avi" || d.Name() == "vtest.avi.gz") && found == "" {
			found = path
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("search unpacked opencv-doc: %w", err)
	}
	if found == "" {
		return errors.New("vtest.avi not found in the opencv-doc package")
	}
	return copyMaybeGzip(found, dst)
}

// copyMaybeGzip copies src to dst, decompressing it when its name ends in
// .gz. It writes to a temporary name first so that a failed copy leaves no
// partial dst.
func copyMaybeGzip(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()

	var r io.Reader = in
	if strings.HasSuffix(src, ".gz") {
		gz, err := gzip.NewReader(in)
		if err != nil {
			return fmt.Errorf("decompress %s: %w", src, err)
		}
		defer gz.Close()
		r = gz
	}

	tmp := dst + ".partial"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// Split cuts src with ffmpeg, without re-encoding, into its first and
// second half and returns the two files' paths in dir.
func Split(ctx context.Context, src, dir string) ([2]string, error) {
	var parts [2]string
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return parts, err
	}
	duration, err := probeDuration(ctx, src)
	if err != nil {
		return parts, err
	}
	half := strconv.FormatFloat(duration/2, 'f', 3, 64)

	parts[0] = filepath.Join(dir, "vtest-part1.avi")
	parts[1] = filepath.Join(dir, "vtest-part2.avi")
	cuts := [2][]string{
		{"-i", src, "-t", half},
		{"-ss", half, "-i", src},
	}
	for i, cut := range cuts {
		args := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, cut...)
		args = append(args, "-c", "copy", parts[i])
		if out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput(); err != nil {
			return parts, fmt.Errorf("ffmpeg %s failed: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return parts, nil
}

// probeDuration returns a media file's duration in seconds, from ffprobe.
func probeDuration(ctx context.Context, path string) (float64, error) {
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error",
		"-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path).Output()
	if err != nil {
		return 0, fmt.Errorf("ffprobe %s failed: %w (install ffmpeg)", path, err)
	}
	seconds, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || seconds <= 0 {
		return 0, fmt.Errorf("ffprobe %s: invalid duration %q", path, strings.TrimSpace(string(out)))
	}
	return seconds, nil
}
