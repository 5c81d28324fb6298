package service

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/go-hclog"
)

func TestWriteMetrics(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	st := Status{
		CatalogReadAt: now.Add(-15 * time.Second),
		Passes:        4,
		Registrations: 2,
		LastErrorAt:   time.Unix(1700000000, 0),
		Jobs: []JobStatus{
			{Job: "detect", Totals: placement.Totals{BytesMoved: 2048}, Kept: []GroupChange{{Group: "detect-cam-a", Camera: "cam-a", Reason: ReasonMissing}}},
			{Job: "broken", Error: "selector matches none"},
		},
	}
	var b strings.Builder
	WriteMetrics(&b, st, now)
	out := b.String()

	for _, want := range []string{
		"ferry_scheduler_passes_total 4\n",
		"ferry_scheduler_registrations_total 2\n",
		"ferry_scheduler_bytes_moved 2048\n",
		"ferry_scheduler_catalog_lag_seconds 15\n",
		"ferry_scheduler_last_error_timestamp_seconds 1.7e+09\n",
		`ferry_scheduler_job_error{job="broken"} 1` + "\n",
		`ferry_scheduler_job_error{job="detect"} 0` + "\n",
		`ferry_scheduler_job_kept_groups{job="detect"} 1` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %q:\n%s", want, out)
		}
	}
}

func TestHandlerServesMetrics(t *testing.T) {
	s := New(Config{}, nil, newFakeCluster(), newFakeClock(), hclog.NewNullLogger())
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics status %d, want 200", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "ferry_scheduler_passes_total 0") {
		t.Errorf("GET /metrics body lacks the passes counter:\n%s", rec.Body.String())
	}

	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/v1/status", nil))
	if !strings.Contains(rec.Body.String(), `"passes": 0`) {
		t.Errorf("GET /v1/status body lacks passes:\n%s", rec.Body.String())
	}
}
