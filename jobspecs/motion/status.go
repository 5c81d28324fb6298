package motion

import (
	"encoding/json"
	"net/http"
	"sync"
)

// EventsReport is the JSON body of GET /events.
type EventsReport struct {
	// Camera is the camera id, the name of the camera folder.
	Camera string `json:"camera"`
	// Events are the motion events found so far, in the order found.
	Events []EventJSON `json:"events"`
	// Done is true once processing has ended, whether or not it failed.
	Done bool `json:"done"`
	// Error is the cause of the first processing failure, empty while
	// none occurred.
	Error string `json:"error,omitempty"`
}

// EventJSON is one motion event in an EventsReport.
type EventJSON struct {
	File  string  `json:"file"`
	Time  float64 `json:"time"`
	Score float64 `json:"score"`
}

// HealthReport is the JSON body of GET /health.
type HealthReport struct {
	// Status is "processing", "done", "failed", "waiting" while no frame of
	// a live stream has arrived yet, or "interrupted" after a live stream
	// ended and until its frames arrive again.
	Status string `json:"status"`
	// Reason is the cause of the failure or of the wait, set only when
	// Status is "failed", "waiting" or "interrupted".
	Reason string `json:"reason,omitempty"`
}

// Status is the progress of one camera's processing, served over HTTP. It
// is safe for concurrent use.
type Status struct {
	camera string

	mu      sync.Mutex
	events  []EventJSON
	done    bool
	failure string
	// pause is "waiting" or "interrupted" while no frames of a live stream
	// arrive, with pauseReason as the cause, and empty while frames arrive.
	pause       string
	pauseReason string
}

// NewStatus returns the status of a camera whose processing has started.
func NewStatus(camera string) *Status {
	return &Status{camera: camera}
}

// Add records events found in a recording.
func (s *Status) Add(events []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		s.events = append(s.events, EventJSON{File: e.File, Time: e.Time, Score: e.Score})
	}
}

// Fail records why processing failed. The first reason is kept, so a later
// error does not hide the cause.
func (s *Status) Fail(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == "" {
		s.failure = reason
	}
}

// Wait records that no frame of the live stream has arrived yet, and why,
// until Resume is called.
func (s *Status) Wait(reason string) {
	s.setPause("waiting", reason)
}

// Interrupt records that the live stream ended and why, until Resume is
// called.
func (s *Status) Interrupt(reason string) {
	s.setPause("interrupted", reason)
}

// Resume records that frames of the live stream arrive.
func (s *Status) Resume() {
	s.setPause("", "")
}

func (s *Status) setPause(pause, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pause = pause
	s.pauseReason = reason
}

// Finish marks processing as done.
func (s *Status) Finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
}

// Handler returns the HTTP handler of /health and /events. /health returns
// 200 while processing and after success, and 503 with the reason once
// processing failed or while no frames of a live stream arrive.
func (s *Status) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.serveHealth)
	mux.HandleFunc("GET /events", s.serveEvents)
	return mux
}

func (s *Status) serveHealth(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	report := HealthReport{Status: "processing"}
	code := http.StatusOK
	switch {
	case s.failure != "":
		report = HealthReport{Status: "failed", Reason: s.failure}
		code = http.StatusServiceUnavailable
	case s.pause != "":
		report = HealthReport{Status: s.pause, Reason: s.pauseReason}
		code = http.StatusServiceUnavailable
	case s.done:
		report.Status = "done"
	}
	s.mu.Unlock()
	writeJSON(w, code, report)
}

func (s *Status) serveEvents(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	report := EventsReport{
		Camera: s.camera,
		Events: append(make([]EventJSON, 0, len(s.events)), s.events...),
		Done:   s.done,
		Error:  s.failure,
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, report)
}

func writeJSON(w http.ResponseWriter, code int, value any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(value)
}
