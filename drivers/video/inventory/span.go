package inventory

import (
	"path/filepath"
	"sort"
	"time"
)

// Span is the time range and container formats of one camera's recordings
// on this node.
type Span struct {
	// First and Last are the oldest and newest modification times of the
	// camera's recordings. A file's modification time is when the recorder
	// last wrote it, so First is near the end of the oldest recording, not
	// its start.
	First, Last time.Time
	// Formats are the container formats of the recordings, sorted and
	// without repeats.
	Formats []string
}

// Spans returns the span of each camera that the last Rescan found, by
// camera id. It reads only the cached scan, never the disk.
func (inv *Inventory) Spans() map[string]Span {
	spans := make(map[string]Span)
	formats := make(map[string]map[string]bool)
	for _, root := range inv.roots {
		for path, folder := range inv.folders {
			if filepath.Dir(path) != filepath.Clean(root) {
				continue
			}
			span := spans[folder.id]
			if formats[folder.id] == nil {
				formats[folder.id] = make(map[string]bool)
			}
			for _, entry := range folder.files {
				if entry.format == FormatUnknown {
					continue
				}
				span.widen(entry.modTime)
				formats[folder.id][entry.format] = true
			}
			spans[folder.id] = span
		}
	}

	for id, span := range spans {
		for format := range formats[id] {
			span.Formats = append(span.Formats, format)
		}
		sort.Strings(span.Formats)
		spans[id] = span
	}
	return spans
}

func (s *Span) widen(t time.Time) {
	if s.First.IsZero() || t.Before(s.First) {
		s.First = t
	}
	if s.Last.IsZero() || t.After(s.Last) {
		s.Last = t
	}
}
