package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// MissingJob is a template job that an earlier pass read from Nomad but
// that Nomad no longer lists, so cameras added since get no group.
type MissingJob struct {
	Job       string    `json:"job"`
	Namespace string    `json:"namespace"`
	Since     time.Time `json:"since"`
	Detail    string    `json:"detail"`
}

// templateState is the record that passes keep of template jobs, keyed by
// namespace and job ID. Only the goroutine that runs passes uses it.
type templateState struct {
	// seen are the template jobs that the last pass read.
	seen map[string]bool
	// kept are the batch template jobs that KeepJob found tagged or
	// tagged, so it runs once per job and service run.
	kept map[string]bool
	// missing are the template jobs gone from Nomad, until they return.
	missing map[string]MissingJob
	// keepErrors are the last KeepJob errors, so that a failure that
	// repeats on every pass is logged once.
	keepErrors map[string]string
}

func jobKey(job *api.Job) string {
	return deref(job.Namespace) + "/" + deref(job.ID)
}

// trackTemplates compares the template jobs of this pass with those of the
// last one, and records and logs each one that Nomad no longer lists and
// each one that is back.
func (s *Service) trackTemplates(jobs []*api.Job) {
	ts := &s.templates
	if ts.missing == nil {
		ts.missing = make(map[string]MissingJob)
	}
	now := make(map[string]bool, len(jobs))
	for _, job := range jobs {
		key := jobKey(job)
		now[key] = true
		if _, ok := ts.missing[key]; ok {
			delete(ts.missing, key)
			s.log.Info("template job is back in nomad", "job_id", deref(job.ID), "namespace", deref(job.Namespace))
		}
	}
	for _, key := range slices.Sorted(maps.Keys(ts.seen)) {
		if now[key] {
			continue
		}
		m := missingJob(key, s.clock.Now())
		ts.missing[key] = m
		delete(ts.kept, key)
		s.log.Warn("template job is gone from nomad; cameras added from now on get no group until the template job is submitted again",
			"job_id", m.Job, "namespace", m.Namespace)
	}
	ts.seen = now

	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.MissingJobs = nil
	for _, key := range slices.Sorted(maps.Keys(ts.missing)) {
		s.status.MissingJobs = append(s.status.MissingJobs, ts.missing[key])
	}
}

func missingJob(key string, now time.Time) MissingJob {
	var m MissingJob
	m.Namespace, m.Job, _ = strings.Cut(key, "/")
	m.Since = now
	m.Detail = fmt.Sprintf("template job %q in namespace %q is gone from Nomad, so cameras added from now on get no group. "+
		"Nomad garbage-collects a batch job once all of its allocations are terminal (server job_gc_threshold, default 4h, or nomad system gc), "+
		"and removes a job stopped with -purge. Submit the template job again; ferry-scheduler then tags a version of it (%s) so that Nomad keeps it",
		m.Job, m.Namespace, KeepTag)
	return m
}

// keepTemplate tags a version of a batch template job once per job and
// service run, so that Nomad does not garbage-collect the job after all of
// its groups finish. A failure is logged and retried on the next pass,
// because the job's groups do not depend on it.
func (s *Service) keepTemplate(ctx context.Context, job *api.Job) {
	key := jobKey(job)
	if deref(job.Type) != api.JobTypeBatch || s.templates.kept[key] {
		return
	}
	tagged, err := s.nomad.KeepJob(ctx, job)
	if err != nil {
		if s.templates.keepErrors == nil {
			s.templates.keepErrors = make(map[string]string)
		}
		if s.templates.keepErrors[key] != err.Error() {
			s.log.Warn("failed to tag a version of the batch template job; Nomad may garbage-collect it once its groups finish, so check that the scheduler's Nomad ACL token has the submit-job or tag-job-version capability",
				"job_id", deref(job.ID), "error", err)
		}
		s.templates.keepErrors[key] = err.Error()
		return
	}
	delete(s.templates.keepErrors, key)
	if tagged {
		s.log.Info("tagged the batch template job's version so that Nomad keeps the job after its groups finish",
			"job_id", deref(job.ID), "version", deref(job.Version), "tag", KeepTag)
	}
	if s.templates.kept == nil {
		s.templates.kept = make(map[string]bool)
	}
	s.templates.kept[key] = true
}
