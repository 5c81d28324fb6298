package placement

import (
	"container/heap"
	"fmt"
)

// heaps orders the eligible nodes by free room, per site and overall, so
// that the fallback phase finds the least loaded node without a scan.
type heaps struct {
	s      *state
	site   map[string]*nodeHeap
	global *nodeHeap
}

const (
	siteHeap   = 0
	globalHeap = 1
)

func newHeaps(s *state) *heaps {
	h := &heaps{s: s, site: make(map[string]*nodeHeap), global: &nodeHeap{s: s, slot: globalHeap}}
	for i := range s.nodes {
		n := &s.nodes[i]
		if !n.Eligible {
			continue
		}
		sh := h.site[n.Site]
		if sh == nil {
			sh = &nodeHeap{s: s, slot: siteHeap}
			h.site[n.Site] = sh
		}
		sh.push(i)
		h.global.push(i)
	}
	for _, sh := range h.site {
		heap.Init(sh)
	}
	heap.Init(h.global)
	return h
}

// fix restores heap order after node's free room changed.
func (h *heaps) fix(node int) {
	n := &h.s.nodes[node]
	if !n.Eligible {
		return
	}
	heap.Fix(h.site[n.Site], n.heapPos[siteHeap])
	heap.Fix(h.global, n.heapPos[globalHeap])
}

// nodeHeap is a max-heap of node indexes by free room (see roomier).
type nodeHeap struct {
	s     *state
	slot  int
	items []int
}

func (h *nodeHeap) push(node int) {
	h.s.nodes[node].heapPos[h.slot] = len(h.items)
	h.items = append(h.items, node)
}

func (h *nodeHeap) Len() int { return len(h.items) }

func (h *nodeHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	return roomier(&h.s.nodes[a], &h.s.nodes[b], a, b)
}

func (h *nodeHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.s.nodes[h.items[i]].heapPos[h.slot] = i
	h.s.nodes[h.items[j]].heapPos[h.slot] = j
}

// Push and Pop satisfy heap.Interface. The heaps never grow or shrink after
// they are built.
func (h *nodeHeap) Push(any) { panic("placement: nodeHeap does not grow") }
func (h *nodeHeap) Pop() any { panic("placement: nodeHeap does not shrink") }

// pick returns the least loaded node with room for g, or -1. The top node
// has the most free CPU, so when it lacks CPU no node has enough. When it
// lacks only memory, the heap is scanned.
func (h *nodeHeap) pick(g *Group) int {
	if h == nil || len(h.items) == 0 {
		return -1
	}
	top := h.items[0]
	if h.s.nodes[top].fits(g) {
		return top
	}
	if h.s.nodes[top].freeCPU < g.CPUMHz {
		return -1
	}
	best := -1
	for _, i := range h.items {
		n := &h.s.nodes[i]
		if n.fits(g) && (best < 0 || roomier(n, &h.s.nodes[best], i, best)) {
			best = i
		}
	}
	return best
}

// fallback places preferred groups whose holders had no room, in the order
// given: on a node holding part of the data, else on the least loaded node
// in a holder's site, else on the least loaded node anywhere.
func (r *run) fallback(pending []*groupState) {
	if len(pending) == 0 {
		return
	}
	r.heaps = newHeaps(r.state)
	for _, g := range pending {
		if node := r.pickPartialHolder(g); node >= 0 {
			r.place(g, node, ReasonPartial, "no node holding all of the data had room")
			continue
		}
		if node := r.pickSameSite(g); node >= 0 {
			r.place(g, node, "", "no holder had room")
			continue
		}
		if node := r.heaps.global.pick(&g.Group); node >= 0 {
			r.place(g, node, "", "no node in a holder's site had room")
			continue
		}
		r.unplace(g, ReasonNoCapacity, fmt.Sprintf("no eligible node has %d MHz CPU and %d MB memory free", g.CPUMHz, g.MemoryMB))
	}
}

// pickPartialHolder returns the node with room that holds some but not all
// of g's recordings and so moves the fewest bytes, or -1.
func (r *run) pickPartialHolder(g *groupState) int {
	if len(g.recs) < 2 {
		return -1
	}
	best, bestMoved := -1, int64(0)
	for _, rec := range g.recs {
		for _, h := range rec.holders {
			if !r.nodes[h].fits(&g.Group) {
				continue
			}
			moved, _ := r.bytesMoved(g, h)
			if best < 0 || moved < bestMoved || (moved == bestMoved && roomier(&r.nodes[h], &r.nodes[best], h, best)) {
				best, bestMoved = h, moved
			}
		}
	}
	return best
}

// pickSameSite returns the least loaded node with room in a site holding
// g's data, preferring the site that leaves the fewest bytes to cross
// sites, or -1.
func (r *run) pickSameSite(g *groupState) int {
	seen := make(map[string]bool, 2)
	best, bestAcross := -1, int64(0)
	for _, rec := range g.recs {
		for _, h := range rec.holders {
			site := r.nodes[h].Site
			if seen[site] {
				continue
			}
			seen[site] = true
			node := r.heaps.site[site].pick(&g.Group)
			if node < 0 {
				continue
			}
			_, across := r.bytesMoved(g, node)
			if best < 0 || across < bestAcross || (across == bestAcross && roomier(&r.nodes[node], &r.nodes[best], node, best)) {
				best, bestAcross = node, across
			}
		}
	}
	return best
}
