package placement

import (
	"testing"
	"time"
)

var day = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

func hour(h int) TimeRange {
	return TimeRange{Start: day.Add(time.Duration(h) * time.Hour), End: day.Add(time.Duration(h+1) * time.Hour)}
}

func node(id, site string, freeCPU int64) Node {
	return Node{ID: id, Site: site, CPUMHz: 10000, MemoryMB: 8192, UsedCPUMHz: 10000 - freeCPU, Eligible: true}
}

func camera(id string) Camera {
	return Camera{ID: id, Site: "s1", Tags: []string{"downtown"}}
}

func hold(cameraID, nodeID string, h int, bytes int64) Holding {
	return Holding{CameraID: cameraID, NodeID: nodeID, Range: hour(h), Bytes: bytes}
}

func group(id, cameraID string, h int, cpu int64) Group {
	return Group{ID: id, CameraID: cameraID, Range: hour(h), CPUMHz: cpu, MemoryMB: 100, Locality: LocalityPreferred}
}

func idle(g Group) Group {
	g.Idle = true
	return g
}

func ineligible(n Node) Node {
	n.Eligible = false
	return n
}

func required(g Group) Group {
	g.Locality = LocalityRequired
	return g
}

// want is the expected decision for one group: a node, or an unplaced
// reason when node is empty.
type want struct {
	node        string
	reason      Reason
	moved       int64
	acrossSites int64
}

// checkPlan compares every group of the plan with wants, which must name
// every group.
func checkPlan(t *testing.T, p Plan, wants map[string]want) {
	t.Helper()
	if got := len(p.Placements) + len(p.Unplaced); got != len(wants) {
		t.Errorf("plan has %d decisions, want %d", got, len(wants))
	}
	for _, pl := range p.Placements {
		w, ok := wants[pl.GroupID]
		if !ok {
			t.Errorf("group %q placed on %q, not expected", pl.GroupID, pl.NodeID)
			continue
		}
		if pl.NodeID != w.node {
			t.Errorf("group %q on node %q, want %q", pl.GroupID, pl.NodeID, w.node)
		}
		if pl.Reason != w.reason {
			t.Errorf("group %q reason %q, want %q", pl.GroupID, pl.Reason, w.reason)
		}
		if pl.BytesMoved != w.moved {
			t.Errorf("group %q moves %d bytes, want %d", pl.GroupID, pl.BytesMoved, w.moved)
		}
		if pl.BytesMovedAcrossSites != w.acrossSites {
			t.Errorf("group %q moves %d bytes across sites, want %d", pl.GroupID, pl.BytesMovedAcrossSites, w.acrossSites)
		}
		if pl.Local != (w.moved == 0) {
			t.Errorf("group %q local %v with %d bytes moved", pl.GroupID, pl.Local, w.moved)
		}
	}
	for _, u := range p.Unplaced {
		w, ok := wants[u.GroupID]
		if !ok || w.node != "" {
			t.Errorf("group %q unplaced (%s: %s), want it on %q", u.GroupID, u.Reason, u.Detail, w.node)
			continue
		}
		if u.Reason != w.reason {
			t.Errorf("group %q unplaced with reason %q, want %q", u.GroupID, u.Reason, w.reason)
		}
		if u.Detail == "" {
			t.Errorf("group %q unplaced without detail", u.GroupID)
		}
	}
}
