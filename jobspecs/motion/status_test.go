package motion

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStatusHandler(t *testing.T) {
	tests := []struct {
		name       string
		apply      func(s *Status)
		wantHealth int
		wantStatus string
		wantReason string
		wantEvents int
		wantDone   bool
	}{
		{"processing", func(s *Status) {}, http.StatusOK, "processing", "", 0, false},
		{"events so far", func(s *Status) { s.Add([]Event{{File: "a.avi", Time: 1.5, Score: 0.2}}) }, http.StatusOK, "processing", "", 1, false},
		{"done", func(s *Status) { s.Add([]Event{{File: "a.avi"}, {File: "b.avi"}}); s.Finish() }, http.StatusOK, "done", "", 2, true},
		{"failed", func(s *Status) { s.Fail("ffmpeg crashed"); s.Fail("later error"); s.Finish() }, http.StatusServiceUnavailable, "failed", "ffmpeg crashed", 0, true},
		{"failed while processing", func(s *Status) { s.Fail("not a video") }, http.StatusServiceUnavailable, "failed", "not a video", 0, false},
		{"stream interrupted", func(s *Status) { s.Interrupt("sender closed") }, http.StatusServiceUnavailable, "interrupted", "sender closed", 0, false},
		{"stream resumed", func(s *Status) { s.Interrupt("sender closed"); s.Resume() }, http.StatusOK, "processing", "", 0, false},
		{"stream waiting", func(s *Status) { s.Wait("no frame yet") }, http.StatusServiceUnavailable, "waiting", "no frame yet", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := NewStatus("north-gate")
			tt.apply(status)
			server := httptest.NewServer(status.Handler())
			defer server.Close()

			var health HealthReport
			if code := get(t, server.URL+"/health", &health); code != tt.wantHealth {
				t.Errorf("/health code %d, want %d", code, tt.wantHealth)
			}
			if health.Status != tt.wantStatus || health.Reason != tt.wantReason {
				t.Errorf("/health = %+v, want status %q reason %q", health, tt.wantStatus, tt.wantReason)
			}

			var events EventsReport
			if code := get(t, server.URL+"/events", &events); code != http.StatusOK {
				t.Errorf("/events code %d, want 200", code)
			}
			if events.Camera != "north-gate" {
				t.Errorf("/events camera %q, want north-gate", events.Camera)
			}
			if len(events.Events) != tt.wantEvents {
				t.Errorf("/events has %d events, want %d", len(events.Events), tt.wantEvents)
			}
			if events.Done != tt.wantDone {
				t.Errorf("/events done %t, want %t", events.Done, tt.wantDone)
			}
		})
	}
}

func get(t *testing.T, url string, value any) int {
	t.Helper()
	response, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	if err := json.NewDecoder(response.Body).Decode(value); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return response.StatusCode
}
