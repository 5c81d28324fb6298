package placement

import (
	"slices"
	"strings"
)

// nodeState is a node with the room left after the placements made so far.
type nodeState struct {
	Node
	freeCPU int64
	freeMem int64
	// heapPos is the node's position in its site heap and in the global
	// heap, while the fallback phase runs.
	heapPos [2]int
}

// fits reports whether g can run on n now. An idle group takes no room,
// so it fits on any eligible node.
func (n *nodeState) fits(g *Group) bool {
	if g.Idle {
		return n.Eligible
	}
	return n.Eligible && n.freeCPU >= g.CPUMHz && n.freeMem >= g.MemoryMB
}

func (n *nodeState) take(g *Group) {
	if g.Idle {
		return
	}
	n.freeCPU -= g.CPUMHz
	n.freeMem -= g.MemoryMB
}

// roomier reports whether a has more free room than b: more free CPU, then
// more free memory, then the lower node index, which is ID order.
func roomier(a, b *nodeState, ai, bi int) bool {
	if a.freeCPU != b.freeCPU {
		return a.freeCPU > b.freeCPU
	}
	if a.freeMem != b.freeMem {
		return a.freeMem > b.freeMem
	}
	return ai < bi
}

// recording is one recording of a camera and the healthy nodes that hold it.
type recording struct {
	rng   TimeRange
	bytes int64
	// holders are node indexes in ascending order.
	holders []int
	// replicaOnly are the holders whose every holding of the recording
	// is a replica, ascending.
	replicaOnly []int
}

// groupState is a group with its data resolved against the holdings.
type groupState struct {
	Group
	order int
	recs  []*recording
	bytes int64
	// holders are the nodes holding every recording in recs, ascending.
	holders []int
	// moveCause is the reason the previous plan's node cannot keep the
	// group, or empty when it can.
	moveCause string
}

// state is the indexed input of one run.
type state struct {
	nodes    []nodeState
	nodeByID map[string]int
	sites    map[string][]int
	groups   []groupState
}

type rangeKey struct{ start, end int64 }

func keyOf(r TimeRange) rangeKey {
	if r.IsZero() {
		return rangeKey{}
	}
	return rangeKey{r.Start.UnixNano(), r.End.UnixNano()}
}

// newState indexes a validated input. Nodes are sorted by ID so that every
// tie is broken the same way whatever the input order.
func newState(in Input) *state {
	s := &state{
		nodes:    make([]nodeState, len(in.Nodes)),
		nodeByID: make(map[string]int, len(in.Nodes)),
		sites:    make(map[string][]int),
	}
	sorted := slices.Clone(in.Nodes)
	slices.SortFunc(sorted, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	for i, n := range sorted {
		s.nodes[i] = nodeState{Node: n, freeCPU: n.CPUMHz - n.UsedCPUMHz, freeMem: n.MemoryMB - n.UsedMemoryMB}
		s.nodeByID[n.ID] = i
		s.sites[n.Site] = append(s.sites[n.Site], i)
	}

	byCamera := s.indexRecordings(in.Holdings)
	s.groups = make([]groupState, len(in.Groups))
	for i, g := range in.Groups {
		if g.Locality == "" {
			g.Locality = LocalityPreferred
		}
		s.groups[i] = newGroupState(g, i, byCamera[g.CameraID])
	}
	return s
}

// indexRecordings groups the usable holdings by camera and recording.
func (s *state) indexRecordings(holdings []Holding) map[string][]*recording {
	type recKey struct {
		camera string
		rng    rangeKey
	}
	recs := make(map[recKey]*recording)
	byCamera := make(map[string][]*recording)
	for _, h := range holdings {
		node, ok := s.nodeByID[h.NodeID]
		if !ok || h.Unhealthy {
			continue
		}
		k := recKey{h.CameraID, keyOf(h.Range)}
		r := recs[k]
		if r == nil {
			r = &recording{rng: h.Range}
			recs[k] = r
			byCamera[h.CameraID] = append(byCamera[h.CameraID], r)
		}
		// Replicas of one recording may report slightly different sizes
		// while a copy completes, so count the largest.
		r.bytes = max(r.bytes, h.Bytes)
		known := slices.Contains(r.holders, node)
		if !known {
			r.holders = append(r.holders, node)
		}
		// A node with an original holding of the recording is never
		// replica-only, whichever of its holdings comes first.
		if i := slices.Index(r.replicaOnly, node); i >= 0 && !h.Replica {
			r.replicaOnly = slices.Delete(r.replicaOnly, i, i+1)
		} else if h.Replica && !known {
			r.replicaOnly = append(r.replicaOnly, node)
		}
	}
	for _, r := range recs {
		slices.Sort(r.holders)
		slices.Sort(r.replicaOnly)
	}
	return byCamera
}

func newGroupState(g Group, order int, recs []*recording) groupState {
	gs := groupState{Group: g, order: order}
	for _, r := range recs {
		if !r.rng.overlaps(g.Range) {
			continue
		}
		gs.recs = append(gs.recs, r)
		gs.bytes += r.bytes
		if len(gs.recs) == 1 {
			gs.holders = slices.Clone(r.holders)
		} else {
			gs.holders = intersect(gs.holders, r.holders)
		}
	}
	return gs
}

// intersect returns the elements of ascending a that are also in ascending b.
func intersect(a, b []int) []int {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// replicaOnly reports whether node holds some recording of g only as a
// replica.
func (g *groupState) replicaOnly(node int) bool {
	for _, r := range g.recs {
		if _, found := slices.BinarySearch(r.replicaOnly, node); found {
			return true
		}
	}
	return false
}

// holds reports whether node holds every recording of g.
func (g *groupState) holds(node int) bool {
	_, found := slices.BinarySearch(g.holders, node)
	return found
}

// bytesMoved returns the bytes of g's recordings that node does not hold,
// and the part of them that no holder in node's site has.
func (s *state) bytesMoved(g *groupState, node int) (moved, acrossSites int64) {
	site := s.nodes[node].Site
	for _, r := range g.recs {
		if _, found := slices.BinarySearch(r.holders, node); found {
			continue
		}
		moved += r.bytes
		if !s.siteHolds(r, site) {
			acrossSites += r.bytes
		}
	}
	return moved, acrossSites
}

func (s *state) siteHolds(r *recording, site string) bool {
	for _, h := range r.holders {
		if s.nodes[h].Site == site {
			return true
		}
	}
	return false
}
