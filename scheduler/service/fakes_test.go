package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// fakeClock hands each After request to the test, which fires it by sending
// on the request's channel.
type fakeClock struct {
	requests chan timerRequest
	now      time.Time
}

type timerRequest struct {
	d    time.Duration
	fire chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{requests: make(chan timerRequest, 16), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// Now returns the time the test set. Only the goroutine that calls Now
// may change it.
func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	fire := make(chan time.Time, 1)
	c.requests <- timerRequest{d: d, fire: fire}
	return fire
}

// realClock is the wall clock, for tests against real agents.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// fakeCluster is an in-memory Nomad with one node per name.
type fakeCluster struct {
	mu       sync.Mutex
	nodes    []nodemeta.Node
	jobs     map[string]*api.Job
	failWith error
	applied  [][]nodemeta.Change
	// tagged counts the KeepJob calls by job ID, and keepErr fails them.
	tagged  map[string]int
	keepErr error

	// registered receives a copy of every registered job.
	registered chan *api.Job
}

func newFakeCluster(nodeNames ...string) *fakeCluster {
	c := &fakeCluster{jobs: make(map[string]*api.Job), registered: make(chan *api.Job, 16)}
	for _, name := range nodeNames {
		c.nodes = append(c.nodes, nodemeta.Node{ID: "id-" + name, Name: name, Meta: map[string]string{}})
	}
	return c
}

func (c *fakeCluster) setFailure(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failWith = err
}

func (c *fakeCluster) Nodes(context.Context) ([]nodemeta.Node, []placement.Node, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failWith != nil {
		return nil, nil, c.failWith
	}
	var nodes []placement.Node
	for _, n := range c.nodes {
		nodes = append(nodes, placement.Node{ID: n.Name, CPUMHz: 4000, MemoryMB: 8192, Eligible: true})
	}
	return append([]nodemeta.Node(nil), c.nodes...), nodes, nil
}

func (c *fakeCluster) ApplyMeta(_ context.Context, changes []nodemeta.Change) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = append(c.applied, changes)
	for _, change := range changes {
		for i := range c.nodes {
			if c.nodes[i].ID != change.NodeID {
				continue
			}
			for k, v := range change.Meta {
				if v == nil {
					delete(c.nodes[i].Meta, k)
				} else {
					c.nodes[i].Meta[k] = *v
				}
			}
		}
	}
	return nil
}

func (c *fakeCluster) TemplateJobs(context.Context) ([]*api.Job, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var jobs []*api.Job
	for _, job := range c.jobs {
		jobs = append(jobs, copyJob(job))
	}
	return jobs, nil
}

func (c *fakeCluster) Register(_ context.Context, job *api.Job) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failWith != nil {
		return c.failWith
	}
	c.jobs[deref(job.ID)] = copyJob(job)
	c.registered <- copyJob(job)
	return nil
}

// KeepJob records the job as tagged, once.
func (c *fakeCluster) KeepJob(_ context.Context, job *api.Job) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keepErr != nil {
		return false, c.keepErr
	}
	if c.tagged == nil {
		c.tagged = make(map[string]int)
	}
	c.tagged[deref(job.ID)]++
	return c.tagged[deref(job.ID)] == 1, nil
}

// Allocations returns none, so no batch group counts as finished.
func (c *fakeCluster) Allocations(context.Context, *api.Job) ([]*api.AllocationListStub, error) {
	return nil, nil
}

// Wait blocks until ctx ends, because the tests drive passes through the
// catalog and the clock.
func (c *fakeCluster) Wait(ctx context.Context, index uint64) (uint64, error) {
	<-ctx.Done()
	return index, ctx.Err()
}

func (c *fakeCluster) metaOf(node string) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.nodes {
		if n.Name == node {
			return n.Meta
		}
	}
	return nil
}

// fakeCatalog returns the updates the test sends, one per Read.
type fakeCatalog struct {
	updates chan catalogUpdate
}

func (c *fakeCatalog) Read(ctx context.Context, index uint64) (Catalog, uint64, error) {
	select {
	case u := <-c.updates:
		return u.catalog, u.index, u.err
	case <-ctx.Done():
		return Catalog{}, index, ctx.Err()
	}
}

var errUnreachable = errors.New("connection refused")
