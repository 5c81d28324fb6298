package motion

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// progressWriter is ffmpeg's stderr when it runs with -progress pipe:2. It
// calls onFrame once, at the first "frame=N" line with N above 0, and keeps
// every line that is not a key=value progress line, for error messages.
type progressWriter struct {
	onFrame func()

	mu      sync.Mutex
	partial []byte
	output  strings.Builder
	framed  bool
}

func (w *progressWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		end := bytes.IndexByte(w.partial, '\n')
		if end < 0 {
			return len(p), nil
		}
		w.line(string(w.partial[:end]))
		w.partial = w.partial[end+1:]
	}
}

func (w *progressWriter) line(line string) {
	key, value, isPair := strings.Cut(strings.TrimSpace(line), "=")
	if !isPair || strings.ContainsAny(key, " :") {
		w.output.WriteString(line)
		w.output.WriteByte('\n')
		return
	}
	if key != "frame" || w.framed {
		return
	}
	if frames, err := strconv.Atoi(value); err == nil && frames > 0 {
		w.framed = true
		if w.onFrame != nil {
			w.onFrame()
		}
	}
}

// String returns the lines that were not progress lines.
func (w *progressWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.String() + string(w.partial)
}
