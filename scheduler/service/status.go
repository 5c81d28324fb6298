package service

import (
	"time"

	"github.com/ferry-video/ferry/scheduler/placement"
)

// Status is the record of the service's catalog reads and passes, for the
// status endpoint and metrics.
type Status struct {
	// CatalogReadAt is when the catalog was last read successfully.
	CatalogReadAt time.Time `json:"catalog_read_at"`
	CatalogIndex  uint64    `json:"catalog_index"`
	// CatalogError is the error of the last catalog read, or empty when
	// it succeeded.
	CatalogError string `json:"catalog_error,omitempty"`
	// CatalogWarning is set when the last accepted catalog lists storage
	// but no per-camera KV document, so sizes, time spans and tags are
	// all unknown.
	CatalogWarning string    `json:"catalog_warning,omitempty"`
	LastPassAt     time.Time `json:"last_pass_at"`
	LastError      string    `json:"last_error,omitempty"`
	LastErrorAt    time.Time `json:"last_error_at"`
	// Passes counts reconcile passes, Plans the job expansions computed,
	// Registrations the jobs registered and Errors the failed passes,
	// catalog reads and job expansions.
	Passes        int         `json:"passes"`
	Plans         int         `json:"plans"`
	Registrations int         `json:"registrations"`
	Errors        int         `json:"errors"`
	Jobs          []JobStatus `json:"jobs"`
	// MissingJobs are template jobs that Nomad listed in an earlier pass
	// but no longer has, such as a batch job that Nomad garbage-collected.
	MissingJobs []MissingJob `json:"missing_jobs,omitempty"`
}

// JobStatus is the last expansion of one template job.
type JobStatus struct {
	Job string `json:"job"`
	// Error is the reason the job was not expanded. Its groups stay as
	// they were.
	Error      string                `json:"error,omitempty"`
	Hash       string                `json:"plan_hash,omitempty"`
	Registered bool                  `json:"registered,omitempty"`
	Placements []placement.Placement `json:"placements,omitempty"`
	Unplaced   []placement.Unplaced  `json:"unplaced,omitempty"`
	Kept       []GroupChange         `json:"kept_groups,omitempty"`
	Removed    []GroupChange         `json:"removed_groups,omitempty"`
	Totals     placement.Totals      `json:"totals"`
}

// BytesMoved sums the bytes that the placements of all jobs move.
func (s Status) BytesMoved() int64 {
	var total int64
	for _, j := range s.Jobs {
		total += j.Totals.BytesMoved
	}
	return total
}

func jobStatus(res Result, err error, jobID string) JobStatus {
	if err != nil && res.Job == nil {
		return JobStatus{Job: jobID, Error: err.Error()}
	}
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	return JobStatus{
		Error: errText,
		Job:   jobID, Hash: res.Hash, Placements: res.Plan.Placements,
		Unplaced: res.Plan.Unplaced, Kept: res.Kept, Removed: res.Removed, Totals: res.Plan.Totals,
	}
}
