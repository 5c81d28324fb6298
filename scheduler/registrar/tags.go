package registrar

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// TagsFile is the optional file in a camera folder that lists the camera's
// tags, such as "entrance" or "plates", one per line or separated by commas
// or spaces. Text after '#' on a line is a comment. The leading dot keeps
// the recordings server from listing it as a recording.
const TagsFile = ".tags"

// maxTagsFileBytes bounds how much of a tags file is read.
const maxTagsFileBytes = 64 << 10

// tagPattern is the allowed form of a camera tag, which a job's
// "tag=" selector names.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// readTags returns the union of the tags in the tags files of a camera's
// folders, sorted. Tags that do not match tagPattern are left out and
// listed in the error, and so is a tags file that cannot be read. A folder
// without a tags file adds nothing.
func readTags(dirs []string) ([]string, error) {
	var tags []string
	var errs []error
	for _, dir := range dirs {
		path := filepath.Join(dir, TagsFile)
		data, err := readLimited(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read camera tags file %q: %w", path, err))
			continue
		}
		valid, invalid := parseTags(data)
		tags = append(tags, valid...)
		if len(invalid) > 0 {
			errs = append(errs, fmt.Errorf("camera tags file %q: tags %q are invalid and left out; use letters, digits, '.', '_' and '-', starting with a letter or digit", path, invalid))
		}
	}
	slices.Sort(tags)
	return slices.Compact(tags), errors.Join(errs...)
}

func readLimited(path string) ([]byte, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(io.LimitReader(file, maxTagsFileBytes))
}

// parseTags splits the content of a tags file into valid and invalid tags.
func parseTags(data []byte) (valid, invalid []string) {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line, _, _ := strings.Cut(scanner.Text(), "#")
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
		for _, tag := range fields {
			if tagPattern.MatchString(tag) {
				valid = append(valid, tag)
			} else {
				invalid = append(invalid, tag)
			}
		}
	}
	return valid, invalid
}
