package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"
)

var aviHeader = []byte("RIFF\x10\x00\x00\x00AVI LIST")

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectFormat(t *testing.T) {
	ts := make([]byte, headerSize)
	ts[0], ts[mpegTSPacketSize] = 0x47, 0x47

	cases := []struct {
		name   string
		header []byte
		want   string
	}{
		{"avi", aviHeader, FormatAVI},
		{"mp4", []byte("\x00\x00\x00\x18ftypisom"), FormatMP4},
		{"mov", []byte("\x00\x00\x00\x14ftypqt  "), FormatMP4},
		{"matroska", []byte{0x1A, 0x45, 0xDF, 0xA3, 0x01}, FormatMatroska},
		{"mpegts", ts, FormatMPEGTS},
		{"single ts sync byte", []byte{0x47, 0x00}, FormatUnknown},
		{"riff wave", []byte("RIFF\x10\x00\x00\x00WAVEfmt "), FormatUnknown},
		{"text", []byte("hello world\n"), FormatUnknown},
		{"empty", nil, FormatUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DetectFormat(tc.header); got != tc.want {
				t.Errorf("DetectFormat = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRescanCountsRecordings(t *testing.T) {
	rootA, rootB := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(rootA, "cam-1", "a.avi"), aviHeader)
	writeFile(t, filepath.Join(rootA, "cam-1", "notes.txt"), []byte("not video"))
	writeFile(t, filepath.Join(rootA, "cam-2", "b.mkv"), []byte{0x1A, 0x45, 0xDF, 0xA3})
	writeFile(t, filepath.Join(rootB, "cam-1", "c.mp4"), []byte("\x00\x00\x00\x18ftypisom"))
	writeFile(t, filepath.Join(rootB, "stray-file"), aviHeader)

	snap, err := New([]string{rootA, rootB}).Rescan()
	if err != nil {
		t.Fatalf("Rescan: %v", err)
	}

	want := []Camera{
		{ID: "cam-1", Dirs: []string{filepath.Join(rootA, "cam-1"), filepath.Join(rootB, "cam-1")}, Bytes: int64(len(aviHeader) + 12), Recordings: 2},
		{ID: "cam-2", Dirs: []string{filepath.Join(rootA, "cam-2")}, Bytes: 4, Recordings: 1},
	}
	if !reflect.DeepEqual(snap.Cameras, want) {
		t.Errorf("cameras = %+v, want %+v", snap.Cameras, want)
	}
	if snap.Skipped != 1 {
		t.Errorf("skipped = %d, want 1", snap.Skipped)
	}
	if want := []string{filepath.Join(rootA, "cam-1", "notes.txt")}; !reflect.DeepEqual(snap.SkippedFiles, want) {
		t.Errorf("skipped files = %q, want %q", snap.SkippedFiles, want)
	}
}

func TestRescanNamesFirstSkippedFiles(t *testing.T) {
	root := t.TempDir()
	var want []string
	for i := 9; i >= 0; i-- {
		path := filepath.Join(root, "cam-1", fmt.Sprintf("note-%d.txt", i))
		writeFile(t, path, []byte("not video"))
		if i < MaxSkippedFiles {
			want = append([]string{path}, want...)
		}
	}

	snap, err := New([]string{root}).Rescan()
	if err != nil {
		t.Fatalf("Rescan: %v", err)
	}
	if snap.Skipped != 10 {
		t.Errorf("skipped = %d, want 10", snap.Skipped)
	}
	if !reflect.DeepEqual(snap.SkippedFiles, want) {
		t.Errorf("skipped files = %q, want the first %d in lexical order %q", snap.SkippedFiles, MaxSkippedFiles, want)
	}
}

func TestRescanMissingRootReportsError(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "cam-1", "a.avi"), aviHeader)

	snap, err := New([]string{filepath.Join(root, "missing"), root}).Rescan()
	if err == nil {
		t.Error("Rescan returned no error for a missing root")
	}
	if _, ok := snap.Camera("cam-1"); !ok {
		t.Error("camera of the readable root is missing from the snapshot")
	}
}

func TestRescanIncremental(t *testing.T) {
	root := t.TempDir()
	camDir := filepath.Join(root, "cam-1")
	writeFile(t, filepath.Join(camDir, "old.avi"), aviHeader)
	writeFile(t, filepath.Join(camDir, "new.avi"), aviHeader)
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(camDir, "old.avi"), past, past); err != nil {
		t.Fatal(err)
	}
	inv := New([]string{root})
	if _, err := inv.Rescan(); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name      string
		change    func(t *testing.T)
		wantBytes int64
		wantCount int
	}{
		{"recorder appends to newest file", func(t *testing.T) {
			f, err := os.OpenFile(filepath.Join(camDir, "new.avi"), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}, int64(2*len(aviHeader) + 100), 2},
		{"new recording appears", func(t *testing.T) {
			writeFile(t, filepath.Join(camDir, "newer.avi"), aviHeader)
		}, int64(3*len(aviHeader) + 100), 3},
		{"recording deleted", func(t *testing.T) {
			if err := os.Remove(filepath.Join(camDir, "old.avi")); err != nil {
				t.Fatal(err)
			}
		}, int64(2*len(aviHeader) + 100), 2},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change(t)
			snap, err := inv.Rescan()
			if err != nil {
				t.Fatal(err)
			}
			cam, ok := snap.Camera("cam-1")
			if !ok {
				t.Fatal("cam-1 missing")
			}
			if cam.Bytes != step.wantBytes {
				t.Errorf("bytes = %d, want %d", cam.Bytes, step.wantBytes)
			}
			if cam.Recordings != step.wantCount {
				t.Errorf("recordings = %d, want %d", cam.Recordings, step.wantCount)
			}
		})
	}
}

func TestRescanRemovedCamera(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "cam-1", "a.avi"), aviHeader)
	inv := New([]string{root})
	if _, err := inv.Rescan(); err != nil {
		t.Fatal(err)
	}

	if err := os.RemoveAll(filepath.Join(root, "cam-1")); err != nil {
		t.Fatal(err)
	}
	snap, err := inv.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Cameras) != 0 {
		t.Errorf("cameras = %+v, want none", snap.Cameras)
	}
}

// BenchmarkInventoryRescan measures the CPU time of one rescan of 10,000
// recordings across 16 cameras after the first scan, while a recorder appends
// to one camera's newest file.
func BenchmarkInventoryRescan(b *testing.B) {
	const cameras, recordings = 16, 10000
	root := b.TempDir()
	for i := 0; i < recordings; i++ {
		cam := fmt.Sprintf("cam-%02d", i%cameras)
		writeFile(b, filepath.Join(root, cam, fmt.Sprintf("rec-%05d.avi", i)), aviHeader)
	}
	inv := New([]string{root})
	if _, err := inv.Rescan(); err != nil {
		b.Fatal(err)
	}
	appendTo, err := os.OpenFile(filepath.Join(root, "cam-00", fmt.Sprintf("rec-%05d.avi", recordings-cameras)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer appendTo.Close()

	cpuBefore := cpuTime(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := appendTo.Write(aviHeader); err != nil {
			b.Fatal(err)
		}
		snap, err := inv.Rescan()
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.Cameras) != cameras {
			b.Fatalf("cameras = %d, want %d", len(snap.Cameras), cameras)
		}
	}
	b.StopTimer()

	cpu := cpuTime(b) - cpuBefore
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/rescan")
	b.ReportMetric(recordings, "recordings")
}

// cpuTime returns the user plus system CPU time of this process so far.
func cpuTime(b *testing.B) time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatal(err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}
