package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestSpansTimesAndFormats(t *testing.T) {
	root := t.TempDir()
	old := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	recent := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	files := []struct {
		path    string
		data    []byte
		modTime time.Time
	}{
		{filepath.Join(root, "cam-1", "a.avi"), aviHeader, old},
		{filepath.Join(root, "cam-1", "b.mp4"), []byte("\x00\x00\x00\x18ftypisom"), recent},
		{filepath.Join(root, "cam-1", "later.txt"), []byte("not video"), recent.Add(time.Hour)},
		{filepath.Join(root, "cam-2", "notes.txt"), []byte("not video"), old},
	}
	for _, f := range files {
		writeFile(t, f.path, f.data)
		if err := os.Chtimes(f.path, f.modTime, f.modTime); err != nil {
			t.Fatal(err)
		}
	}

	inv := New([]string{root})
	if _, err := inv.Rescan(); err != nil {
		t.Fatalf("Rescan: %v", err)
	}
	spans := inv.Spans()

	cases := []struct {
		id   string
		want Span
	}{
		{"cam-1", Span{First: old, Last: recent, Formats: []string{FormatAVI, FormatMP4}}},
		{"cam-2", Span{}},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			got, ok := spans[tc.id]
			if !ok {
				t.Fatalf("no span for %q in %v", tc.id, spans)
			}
			if !got.First.Equal(tc.want.First) || !got.Last.Equal(tc.want.Last) {
				t.Errorf("span times = %v..%v, want %v..%v", got.First, got.Last, tc.want.First, tc.want.Last)
			}
			if !reflect.DeepEqual(got.Formats, tc.want.Formats) {
				t.Errorf("formats = %v, want %v", got.Formats, tc.want.Formats)
			}
		})
	}
}
