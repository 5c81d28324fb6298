package service

import (
	"context"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// A catalog read after a failure or a Consul restart may list only the
// registrars that published again. Until EmptyGrace passes, a group stays
// on a holder missing from it, unless that holder's Nomad node is down.
func TestSettleKeepsMissingHolder(t *testing.T) {
	full := holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-a", "cam-b"}})
	first := mustExpand(t, templateJob(nil), full, testNodes("n1", "n2"))
	home := expandedGroups(first.Job)["cam-a"].Meta[GroupMetaNode]
	other := map[string]string{"n1": "n2", "n2": "n1"}[home]
	partial := holdings(map[string][]string{other: {"cam-a", "cam-b"}})

	down := testNodes("n1", "n2")
	for i := range down {
		down[i].Eligible = down[i].ID != home
	}
	cases := []struct {
		name     string
		failure  bool
		index    uint64
		wait     time.Duration
		downNode bool
		wantNode string
	}{
		{"index went backwards", false, 3, 0, false, home},
		{"after a failed read", true, 11, 0, false, home},
		{"holder node down", false, 3, 0, true, other},
		{"settle period over", false, 3, 2 * time.Minute, false, other},
		{"no failure", false, 11, 0, false, other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s := New(Config{EmptyGrace: time.Minute}, nil, newFakeCluster(), clock, hclog.NewNullLogger())
			var st catalogState
			s.acceptCatalog(catalogUpdate{catalog: full, index: 10}, &st)
			if tc.failure {
				s.acceptCatalog(catalogUpdate{err: errUnreachable}, &st)
			}
			if tc.wait > 0 {
				s.acceptCatalog(catalogUpdate{catalog: partial, index: tc.index}, &st)
				clock.now = clock.now.Add(tc.wait)
			}
			s.acceptCatalog(catalogUpdate{catalog: partial, index: tc.index}, &st)

			nodes := testNodes("n1", "n2")
			if tc.downNode {
				nodes = down
			}
			res := mustExpand(t, first.Job, *st.last, nodes)
			if got := expandedGroups(res.Job)["cam-a"].Meta[GroupMetaNode]; got != tc.wantNode {
				t.Errorf("cam-a on %s, want %s", got, tc.wantNode)
			}
		})
	}
}

// After a Consul restart a registrar may list its node again before its KV
// documents are back. With a time range, a holder without a document does
// not count, so the group of a job with a range would move to whichever
// holder published its documents first and run again there.
func TestSettleKeepsMissingDocuments(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	detail := span(day, day.Add(23*time.Hour))
	full := detailed(map[string]map[string]CameraDetail{"n1": {"cam-a": detail}, "n2": {"cam-a": detail}})
	job := templateJob(map[string]string{MetaTimeRange: "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"})
	first := mustExpand(t, job, full, testNodes("n1", "n2"))
	home := expandedGroups(first.Job)["cam-a"].Meta[GroupMetaNode]
	other := map[string]string{"n1": "n2", "n2": "n1"}[home]

	// Both nodes are listed again, but only the other node's document is back.
	partial := detailed(map[string]map[string]CameraDetail{home: {"cam-a": detail}, other: {"cam-a": detail}})
	delete(partial.Details, home)

	cases := []struct {
		name     string
		index    uint64
		wait     time.Duration
		wantNode string
	}{
		{"index went backwards", 3, 0, home},
		{"settle period over", 3, 2 * time.Minute, other},
		{"no restart", 11, 0, other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			s := New(Config{EmptyGrace: time.Minute}, nil, newFakeCluster(), clock, hclog.NewNullLogger())
			var st catalogState
			s.acceptCatalog(catalogUpdate{catalog: full, index: 10}, &st)
			if tc.wait > 0 {
				s.acceptCatalog(catalogUpdate{catalog: partial, index: tc.index}, &st)
				clock.now = clock.now.Add(tc.wait)
			}
			s.acceptCatalog(catalogUpdate{catalog: partial, index: tc.index}, &st)

			res := mustExpand(t, first.Job, *st.last, testNodes("n1", "n2"))
			if got := expandedGroups(res.Job)["cam-a"].Meta[GroupMetaNode]; got != tc.wantNode {
				t.Errorf("cam-a on %s, want %s", got, tc.wantNode)
			}
			if _, ok := partial.Details[home]; ok {
				t.Errorf("settle changed the catalog that the source returned")
			}
		})
	}
}

// While the catalog settles, a job whose plan places no group is not
// registered, so that a Consul restart adds no job version with no group.
func TestSettleRegistersNoEmptyPlan(t *testing.T) {
	cases := []struct {
		name         string
		settling     bool
		wantRegister bool
	}{
		{"settling", true, false},
		{"settled", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster := newFakeCluster("n1")
			cluster.jobs["detect"] = templateJob(map[string]string{MetaTimeRange: "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"})
			s := New(Config{EmptyGrace: time.Minute}, nil, cluster, newFakeClock(), hclog.NewNullLogger())
			// n1 is listed, but its KV document is not back yet.
			cat := holdings(map[string][]string{"n1": {"cam-a"}})
			cat.Settling = tc.settling
			if err := s.Pass(context.Background(), cat); err != nil {
				t.Fatalf("Pass: %v", err)
			}
			if got := len(cluster.registered) > 0; got != tc.wantRegister {
				t.Errorf("registered %v, want %v", got, tc.wantRegister)
			}
		})
	}
}
