package service

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

// Clock is the time source of the loop, so tests can fire timers by hand.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Config configures a Service.
type Config struct {
	// Resync is the time between passes when nothing changes. Default 1m.
	Resync time.Duration
	// EmptyGrace is how long after a failed catalog read an empty catalog
	// is ignored, and how long after a failed read or a Consul restart a
	// node missing from the catalog keeps its last holdings. It should
	// exceed the registrars' publish period. Default 2m.
	EmptyGrace time.Duration
	// VanishGrace is how long successful catalog reads must miss a camera
	// before the groups of that camera are removed. Failed reads and
	// ignored empty reads do not count towards it. Default 10m.
	VanishGrace time.Duration
}

// Backoff bounds for retries of failed passes and catalog reads.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// Service keeps template jobs expanded over the cameras in the catalog.
type Service struct {
	cfg     Config
	log     hclog.Logger
	clock   Clock
	catalog CatalogSource
	nomad   Cluster

	// mu guards status, which Run writes and Status reads.
	mu     sync.Mutex
	status Status

	templates templateState
}

// New returns a service. It does nothing until Run.
func New(cfg Config, cat CatalogSource, nomad Cluster, clock Clock, log hclog.Logger) *Service {
	if cfg.Resync <= 0 {
		cfg.Resync = time.Minute
	}
	if cfg.EmptyGrace <= 0 {
		cfg.EmptyGrace = 2 * time.Minute
	}
	if cfg.VanishGrace <= 0 {
		cfg.VanishGrace = 10 * time.Minute
	}
	return &Service{cfg: cfg, log: log, clock: clock, catalog: cat, nomad: nomad}
}

// Status returns a copy of the service's status.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Jobs = append([]JobStatus(nil), st.Jobs...)
	return st
}

// catalogUpdate is one catalog read by the watcher.
type catalogUpdate struct {
	catalog Catalog
	index   uint64
	err     error
}

// Run reconciles until ctx ends. One goroutine owns the loop state, and
// two watchers feed it the catalog and Nomad's changes.
func (s *Service) Run(ctx context.Context) {
	catalogs := make(chan catalogUpdate)
	nomadChanges := make(chan struct{}, 1)
	go s.watchCatalog(ctx, catalogs)
	go s.watchNomad(ctx, nomadChanges)

	var (
		cat      catalogState
		failures int
		retry    <-chan time.Time
	)
	resync := s.clock.After(s.cfg.Resync)
	for {
		select {
		case <-ctx.Done():
			return

		// The catalog changed, or reading it failed.
		case u := <-catalogs:
			s.acceptCatalog(u, &cat)

		// A job or node changed in Nomad.
		case <-nomadChanges:

		// A periodic pass catches what the watches missed.
		case <-resync:
			resync = s.clock.After(s.cfg.Resync)

		// The backoff after a failed pass has ended.
		case <-retry:
			retry = nil
		}

		if retry != nil || cat.last == nil {
			continue
		}
		retry = s.passOrBackoff(ctx, *cat.last, &failures)
	}
}

// passOrBackoff runs a pass. When it fails, it counts the failure and
// returns the channel that fires when the backoff ends.
func (s *Service) passOrBackoff(ctx context.Context, cat Catalog, failures *int) <-chan time.Time {
	err := s.Pass(ctx, cat)
	if err == nil || ctx.Err() != nil {
		// A pass that shutdown cut short is not a failure.
		*failures = 0
		return nil
	}
	*failures++
	delay := backoff(*failures)
	s.log.Warn("reconcile pass failed; retrying", "error", err, "failures", *failures, "retry_in", delay)
	return s.clock.After(delay)
}

// catalogState is the catalog the loop plans with.
type catalogState struct {
	// last is the last catalog accepted, or nil before the first read.
	last *Catalog
	// gapSince is when reads began to fail, or zero when the last read
	// succeeded with a catalog that was accepted.
	gapSince time.Time
	// absence records when accepted reads last listed each camera.
	absence Absence
	// lastIndex is the index of the last successful read, and settleSince
	// when the catalog began settling after a failed read or a Consul
	// restart, or zero when it is not settling.
	lastIndex   uint64
	settleSince time.Time
}

// acceptCatalog records a catalog read and updates the catalog to plan
// with. After a failed read, an empty catalog is not trusted for
// Config.EmptyGrace, because a restarted Consul lists no storage until the
// registrars publish again: the last good catalog stays until a read lists
// storage or the grace period ends.
func (s *Service) acceptCatalog(u catalogUpdate, st *catalogState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if u.err != nil {
		s.status.CatalogError = u.err.Error()
		s.status.Errors++
		s.status.LastError, s.status.LastErrorAt = u.err.Error(), now
		if st.gapSince.IsZero() {
			st.gapSince = now
		}
		if st.settleSince.IsZero() {
			st.settleSince = now
		}
		return
	}
	s.status.CatalogError = ""
	s.status.CatalogIndex = u.index
	inGap := !st.gapSince.IsZero() && now.Sub(st.gapSince) < s.cfg.EmptyGrace
	if inGap && st.last != nil && len(st.last.Holdings) > 0 && len(u.catalog.Holdings) == 0 {
		s.log.Warn("catalog is empty after failed reads; keeping the last catalog", "index", u.index, "gap_since", st.gapSince)
		return
	}
	st.gapSince = time.Time{}
	accepted := s.settle(u, st, now)
	st.absence.Grace = s.cfg.VanishGrace
	st.absence.record(accepted.Holdings, now)
	accepted.Absence = st.absence.clone()
	st.last = &accepted
	s.status.CatalogReadAt = now
	s.checkDetails(accepted)
}

// checkDetails sets Status.CatalogWarning, and logs when it changes, when
// the catalog lists storage but the KV prefix holds no document at all,
// which is almost always a -kv-prefix that differs from the registrars'.
func (s *Service) checkDetails(cat Catalog) {
	warning := ""
	if len(cat.Holdings) > 0 && len(cat.Details) == 0 {
		warning = fmt.Sprintf("the catalog lists %d storage nodes but no KV document was found under the KV prefix: check that -kv-prefix matches the registrars' and that they can write to Consul KV", len(cat.Holdings))
	}
	if warning != "" && warning != s.status.CatalogWarning {
		s.log.Warn("no camera KV documents found", "storage_nodes", len(cat.Holdings))
	}
	s.status.CatalogWarning = warning
}

// Pass runs one reconcile pass: it syncs node metadata with the catalog,
// then expands each template job and registers those that changed. A job
// whose expansion fails keeps its groups and is reported in Status. A
// failed Nomad request fails the pass.
func (s *Service) Pass(ctx context.Context, cat Catalog) error {
	metaNodes, nodes, err := s.nomad.Nodes(ctx)
	if err != nil {
		return s.fail(err)
	}
	if changes := nodemeta.Plan(cat.Holdings, metaNodes); len(changes) > 0 {
		if err := s.nomad.ApplyMeta(ctx, changes); err != nil {
			return s.fail(err)
		}
		s.log.Info("updated node metadata", "nodes", len(changes))
	}

	jobs, err := s.nomad.TemplateJobs(ctx)
	if err != nil {
		return s.fail(err)
	}
	s.trackTemplates(jobs)
	previous := s.jobErrors()
	var tally passTally
	var registerErrs []error
	for _, job := range jobs {
		if deref(job.Stop) {
			continue
		}
		s.keepTemplate(ctx, job)
		st, err := s.reconcileJob(ctx, job, cat, nodes, previous[deref(job.ID)], &tally)
		if err != nil {
			registerErrs = append(registerErrs, err)
		}
		tally.jobs = append(tally.jobs, st)
	}
	s.record(tally)
	if err := errors.Join(registerErrs...); err != nil {
		return s.fail(err)
	}
	return nil
}

// passTally counts what one pass did.
type passTally struct {
	jobs         []JobStatus
	plans        int
	registered   int
	expandErrors int
}

// reconcileJob expands one job and registers it when it changed. It
// returns an error only when registering fails. An expansion error goes
// into the job's status, and is logged only when it differs from the last
// pass's, because passes run on every Nomad change.
func (s *Service) reconcileJob(ctx context.Context, job *api.Job, cat Catalog, nodes []placement.Node, previousErr string, tally *passTally) (JobStatus, error) {
	id := deref(job.ID)
	var allocs []*api.AllocationListStub
	var idle map[string]bool
	if deref(job.Type) == api.JobTypeBatch {
		var err error
		if allocs, err = s.nomad.Allocations(ctx, job); err != nil {
			return JobStatus{Job: id}, err
		}
		idle = idleGroups(job, allocs)
	}
	res, err := ExpandIdle(job, cat, nodes, idle)
	st := jobStatus(res, err, id)
	if err != nil {
		tally.expandErrors++
		if previousErr != err.Error() {
			s.log.Error("job not expanded; its groups stay as they are, except those of cameras gone from the catalog", "job_id", id, "error", err)
		}
		// With no camera selected, only groups of vanished cameras go.
		if !errors.Is(err, ErrNoCameraSelected) || len(res.Removed) == 0 {
			return st, nil
		}
	}

	tally.plans++
	if !res.Changed {
		return st, nil
	}
	if cat.Settling && len(res.Plan.Placements) == 0 && len(res.Plan.Unplaced) > 0 {
		s.log.Info("catalog is settling and the job would have no placed group; not registering it until registrars publish again",
			"job_id", id, "unplaced", len(res.Plan.Unplaced))
		return st, nil
	}
	if deref(job.Type) == api.JobTypeBatch {
		if heldGroups := holdFinishedGroups(res.Job, job, allocs); len(heldGroups) > 0 {
			s.log.Info("registering finished batch groups with count 0 so that Nomad does not run them again", "job_id", id, "groups", len(heldGroups))
		}
	}
	if err := s.nomad.Register(ctx, res.Job); err != nil {
		return st, err
	}
	st.Registered = true
	tally.registered++
	s.log.Info("registered expanded job", "job_id", id, "plan_hash", res.Hash,
		"groups", len(res.Plan.Placements), "unplaced", len(res.Plan.Unplaced), "removed", len(res.Removed))
	for _, r := range res.Removed {
		s.log.Info("removed expanded group", "job_id", id, "group", r.Group, "camera_id", r.Camera, "reason", r.Reason)
	}
	return st, nil
}

// jobErrors returns the expansion error of each job in the last pass.
func (s *Service) jobErrors() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.status.Jobs))
	for _, j := range s.status.Jobs {
		out[j.Job] = j.Error
	}
	return out
}

func (s *Service) record(tally passTally) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Passes++
	s.status.Plans += tally.plans
	s.status.Registrations += tally.registered
	s.status.Errors += tally.expandErrors
	s.status.Jobs = tally.jobs
	s.status.LastPassAt = s.clock.Now()
	for _, j := range tally.jobs {
		if j.Error != "" {
			s.status.LastError, s.status.LastErrorAt = j.Error, s.clock.Now()
		}
	}
}

func (s *Service) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Errors++
	s.status.LastError, s.status.LastErrorAt = err.Error(), s.clock.Now()
	return fmt.Errorf("reconcile: %w", err)
}

// backoff returns the delay before retry number failures: 1s doubling up
// to 1m.
func backoff(failures int) time.Duration {
	d := minBackoff
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}
