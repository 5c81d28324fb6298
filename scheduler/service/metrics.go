package service

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WriteMetrics writes st in the Prometheus text exposition format.
func WriteMetrics(w io.Writer, st Status, now time.Time) {
	counter(w, "ferry_scheduler_passes_total", "Reconcile passes run.", st.Passes)
	counter(w, "ferry_scheduler_plans_total", "Template job expansions computed.", st.Plans)
	counter(w, "ferry_scheduler_registrations_total", "Expanded jobs registered with Nomad.", st.Registrations)
	counter(w, "ferry_scheduler_errors_total", "Failed passes and job expansions.", st.Errors)
	gauge(w, "ferry_scheduler_bytes_moved", "Bytes the current placements read from other nodes.", float64(st.BytesMoved()))

	if !st.CatalogReadAt.IsZero() {
		gauge(w, "ferry_scheduler_catalog_lag_seconds", "Seconds since the catalog was last read successfully.", now.Sub(st.CatalogReadAt).Seconds())
	}
	var lastError float64
	if !st.LastErrorAt.IsZero() {
		lastError = float64(st.LastErrorAt.UnixNano()) / 1e9
	}
	gauge(w, "ferry_scheduler_last_error_timestamp_seconds", "Unix time of the last error, or 0 when none occurred.", lastError)

	gauge(w, "ferry_scheduler_missing_template_jobs", "Template jobs that Nomad no longer has, such as garbage-collected batch jobs.", float64(len(st.MissingJobs)))

	fmt.Fprintln(w, "# HELP ferry_scheduler_job_unplaced_groups Groups of a template job that have no placement.")
	fmt.Fprintln(w, "# TYPE ferry_scheduler_job_unplaced_groups gauge")
	for _, j := range st.Jobs {
		fmt.Fprintf(w, "ferry_scheduler_job_unplaced_groups{job=%q} %d\n", j.Job, len(j.Unplaced))
	}
	fmt.Fprintln(w, "# HELP ferry_scheduler_job_kept_groups Expanded groups of a template job kept without a placement, such as while the catalog misses their camera.")
	fmt.Fprintln(w, "# TYPE ferry_scheduler_job_kept_groups gauge")
	for _, j := range st.Jobs {
		fmt.Fprintf(w, "ferry_scheduler_job_kept_groups{job=%q} %d\n", j.Job, len(j.Kept))
	}
	fmt.Fprintln(w, "# HELP ferry_scheduler_job_error Whether the last expansion of a template job failed (1) or not (0).")
	fmt.Fprintln(w, "# TYPE ferry_scheduler_job_error gauge")
	for _, j := range st.Jobs {
		failed := 0
		if j.Error != "" {
			failed = 1
		}
		fmt.Fprintf(w, "ferry_scheduler_job_error{job=%q} %d\n", j.Job, failed)
	}
}

func counter(w io.Writer, name, help string, v int) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

func gauge(w io.Writer, name, help string, v float64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v)
}

// Handler serves /metrics in the Prometheus text format and /v1/status as
// the JSON of Status.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		WriteMetrics(w, s.Status(), s.clock.Now())
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Status())
	})
	return mux
}
