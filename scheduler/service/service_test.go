package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/hashicorp/go-hclog"
)

const testResync = time.Hour

// nextRetry returns the next timer request that is not the resync ticker.
func nextRetry(t *testing.T, clock *fakeClock) timerRequest {
	t.Helper()
	for {
		r := <-clock.requests
		if r.d != testResync {
			return r
		}
	}
}

func TestRunRetriesWithBackoff(t *testing.T) {
	cluster := newFakeCluster("n1")
	cluster.jobs["detect"] = templateJob(nil)
	cluster.setFailure(errUnreachable)
	cat := &fakeCatalog{updates: make(chan catalogUpdate, 1)}
	clock := newFakeClock()
	s := New(Config{Resync: testResync}, cat, cluster, clock, hclog.NewNullLogger())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	cat.updates <- catalogUpdate{catalog: holdings(map[string][]string{"n1": {"cam-a"}}), index: 5}

	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		r := nextRetry(t, clock)
		if r.d != want {
			t.Errorf("retry %d delay = %s, want %s", i+1, r.d, want)
		}
		if i == 2 {
			cluster.setFailure(nil)
		}
		r.fire <- time.Time{}
	}

	job := <-cluster.registered
	if got := len(expandedGroups(job)); got != 1 {
		t.Errorf("registered job has %d expanded groups, want 1", got)
	}
	st := s.Status()
	if !strings.Contains(st.LastError, "connection refused") {
		t.Errorf("status last error %q, want the Nomad failure", st.LastError)
	}
	if st.Errors != 3 {
		t.Errorf("status errors = %d, want 3", st.Errors)
	}
}

func TestBackoffCapped(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, time.Second},
		{2, 2 * time.Second},
		{6, 32 * time.Second},
		{7, time.Minute},
		{50, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.want.String(), func(t *testing.T) {
			if got := backoff(tt.failures); got != tt.want {
				t.Errorf("backoff(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestPassSameInputRegistersOnce(t *testing.T) {
	cluster := newFakeCluster("n1", "n2")
	cluster.jobs["detect"] = templateJob(nil)
	s := New(Config{}, nil, cluster, newFakeClock(), hclog.NewNullLogger())
	cat := holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}})

	for range 2 {
		if err := s.Pass(context.Background(), cat); err != nil {
			t.Fatalf("Pass: %v", err)
		}
	}
	if got := s.Status().Registrations; got != 1 {
		t.Errorf("registrations = %d, want 1", got)
	}
	if got := cluster.metaOf("n2")[nodemeta.KeyCameras]; got != "cam-b" {
		t.Errorf("n2 meta %s = %q, want cam-b", nodemeta.KeyCameras, got)
	}
}

func TestPassSelectorMatchesNothing(t *testing.T) {
	cluster := newFakeCluster("n1")
	first := mustExpand(t, templateJob(nil), holdings(map[string][]string{"n1": {"cam-a"}}), testNodes("n1"))
	cluster.jobs["detect"] = first.Job
	s := New(Config{}, nil, cluster, newFakeClock(), hclog.NewNullLogger())

	// The camera now sits at another site, so site=s1 matches nothing.
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	cat.Holdings["n1"] = catalog.Holding{Site: "s2", Cameras: []string{"cam-a"}}
	if err := s.Pass(context.Background(), cat); err != nil {
		t.Fatalf("Pass: %v", err)
	}

	st := s.Status()
	if len(st.Jobs) != 1 || !strings.Contains(st.Jobs[0].Error, "matches no camera") {
		t.Fatalf("status jobs %+v, want one with a selector error", st.Jobs)
	}
	if got := len(expandedGroups(cluster.jobs["detect"])); got != 1 {
		t.Errorf("job has %d expanded groups after the error, want 1", got)
	}
	if st.Registrations != 0 {
		t.Errorf("registrations = %d, want 0", st.Registrations)
	}
}

func TestAcceptCatalogAfterGap(t *testing.T) {
	clock := newFakeClock()
	s := New(Config{EmptyGrace: time.Minute}, nil, newFakeCluster(), clock, hclog.NewNullLogger())
	good := holdings(map[string][]string{"n1": {"cam-a"}})
	empty := holdings(nil)
	var st catalogState

	s.acceptCatalog(catalogUpdate{catalog: good, index: 3}, &st)
	s.acceptCatalog(catalogUpdate{err: errUnreachable}, &st)
	if st.last == nil || len(st.last.Holdings) != 1 {
		t.Fatalf("after a failed read the catalog is %v, want the good one", st.last)
	}
	if s.Status().CatalogError == "" {
		t.Errorf("status catalog error is empty after a failed read")
	}

	clock.now = clock.now.Add(30 * time.Second)
	s.acceptCatalog(catalogUpdate{catalog: empty, index: 1}, &st)
	if len(st.last.Holdings) != 1 {
		t.Errorf("empty read within the grace period replaced the catalog, want the last good one kept")
	}

	clock.now = clock.now.Add(time.Minute)
	s.acceptCatalog(catalogUpdate{catalog: empty, index: 2}, &st)
	if len(st.last.Holdings) != 0 {
		t.Errorf("empty read after the grace period kept %d nodes, want the empty catalog accepted", len(st.last.Holdings))
	}
}

func TestAcceptCatalogEmptyWithoutGap(t *testing.T) {
	s := New(Config{}, nil, newFakeCluster(), newFakeClock(), hclog.NewNullLogger())
	var st catalogState
	s.acceptCatalog(catalogUpdate{catalog: holdings(map[string][]string{"n1": {"cam-a"}}), index: 3}, &st)
	s.acceptCatalog(catalogUpdate{catalog: holdings(nil), index: 4}, &st)
	if st.last == nil || len(st.last.Holdings) != 0 {
		t.Errorf("empty read after a good one was not accepted: %v", st.last)
	}
}

func TestAcceptCatalogWarnsWithoutDetails(t *testing.T) {
	s := New(Config{}, nil, newFakeCluster(), newFakeClock(), hclog.NewNullLogger())
	var st catalogState
	s.acceptCatalog(catalogUpdate{catalog: holdings(map[string][]string{"n1": {"cam-a"}}), index: 3}, &st)
	if got := s.Status().CatalogWarning; !strings.Contains(got, "no KV document") {
		t.Errorf("catalog warning %q, want one naming the missing KV documents", got)
	}

	withDetail := detailed(map[string]map[string]CameraDetail{"n1": {"cam-a": {Bytes: 1}}})
	s.acceptCatalog(catalogUpdate{catalog: withDetail, index: 4}, &st)
	if got := s.Status().CatalogWarning; got != "" {
		t.Errorf("catalog warning %q after documents appeared, want none", got)
	}
}
