package service

import (
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
