package placement

import (
	"cmp"
	"fmt"
	"slices"
)

// Options tunes a run without changing its result.
type Options struct {
	// OnDecision, when set, is called once after each group is placed or
	// left unplaced, with the group's ID. Benchmarks use it to time single
	// decisions, because Place itself reads no clock.
	OnDecision func(groupID string)
}

// run carries one Place call's state and decisions.
type run struct {
	*state
	opts      Options
	prev      map[string]*Placement
	decisions []decision
	heaps     *heaps
}

// decision is a group's outcome. Values rather than pointers keep a run
// at one allocation per slice instead of one per group.
type decision struct {
	placed    bool
	placement Placement
	unplaced  Unplaced
}

// Place computes where each group of in runs. It reads only its input and
// returns a Plan for a separate step to apply. The same input always gives
// the same plan. The phases, in order:
//
//  1. Keep every previous placement that is still valid: the node is
//     present, eligible and has room, and a group that was local still
//     finds all of its data there.
//  2. Move the groups whose previous node lost their data or left to
//     other holders (replicas), so they move 0 bytes.
//  3. Place "required" groups on holders. A required group whose
//     eligible holders all lack room is queued on the roomiest of them
//     (its previous node when that is one), because Nomad holds it until
//     room frees up there. Only one without an eligible holder stays
//     unplaced.
//  4. Place "preferred" groups on holders, largest data first, so that
//     what does not fit is the data cheapest to move.
//  5. Place the preferred groups left over, smallest data first: on a node
//     holding part of the data, else in a holder's site, else anywhere.
//
// Among candidate nodes the one with the most free CPU wins (least loaded),
// then the most free memory, then the lowest node ID, except that among
// holders with room one holding the original recordings beats one holding
// only replicas. Place returns an error
// wrapping ErrInvalidInput, and no plan, when the input is malformed.
func Place(in Input, opts Options) (Plan, error) {
	if err := validateInput(in); err != nil {
		return Plan{}, err
	}
	r := &run{state: newState(in), opts: opts, prev: indexPlan(in.Previous)}
	r.decisions = make([]decision, len(r.groups))

	displaced, fresh := r.keepPrevious()
	slices.SortStableFunc(displaced, byBytesDesc)
	var leftover []*groupState
	for _, g := range displaced {
		reason := ReasonLocal
		if r.prev[g.ID].Local {
			reason = ReasonReplica
		}
		leftover = append(leftover, r.placeOnHolders([]*groupState{g}, reason)...)
	}

	slices.SortStableFunc(fresh, byBytesDesc)
	for _, g := range fresh {
		if g.Locality == LocalityRequired {
			leftover = append(leftover, r.placeOnHolders([]*groupState{g}, ReasonLocal)...)
		}
	}
	for _, g := range fresh {
		if g.Locality == LocalityPreferred {
			leftover = append(leftover, r.placeOnHolders([]*groupState{g}, ReasonLocal)...)
		}
	}

	var pending []*groupState
	for _, g := range leftover {
		if g.Locality == LocalityRequired && len(g.holders) == 0 {
			r.unplace(g, ReasonNoHolder, r.holdersFullDetail(g))
			continue
		}
		if g.Locality == LocalityRequired {
			r.queueOnHolder(g)
			continue
		}
		pending = append(pending, g)
	}
	slices.SortStableFunc(pending, func(a, b *groupState) int { return cmp.Compare(a.bytes, b.bytes) })
	r.fallback(pending)
	return r.plan(), nil
}

func byBytesDesc(a, b *groupState) int {
	return cmp.Compare(b.bytes, a.bytes)
}

func indexPlan(p *Plan) map[string]*Placement {
	if p == nil {
		return nil
	}
	out := make(map[string]*Placement, len(p.Placements))
	for i := range p.Placements {
		out[p.Placements[i].GroupID] = &p.Placements[i]
	}
	return out
}

// keepPrevious keeps valid previous placements and returns the groups the
// previous plan placed but that must move, and the groups it did not place.
func (r *run) keepPrevious() (displaced, fresh []*groupState) {
	for i := range r.groups {
		g := &r.groups[i]
		p := r.prev[g.ID]
		if p == nil {
			fresh = append(fresh, g)
			continue
		}
		if g.moveCause = r.moveCause(g, p); g.moveCause != "" {
			displaced = append(displaced, g)
			continue
		}
		// The previous reason and detail still hold while locality is
		// unchanged, because they record why the group first went there.
		node := r.nodeByID[p.NodeID]
		reason, detail := p.Reason, p.Detail
		// A queued group that fits now is no longer waiting for room.
		if p.Local != g.holds(node) || p.Reason == ReasonQueued {
			reason, detail = "", ""
		}
		r.place(g, node, reason, detail)
	}
	return displaced, fresh
}

// moveCause returns why g cannot stay where placement p put it, or "" when
// it can.
func (r *run) moveCause(g *groupState, p *Placement) string {
	node, ok := r.nodeByID[p.NodeID]
	switch {
	case !ok:
		return fmt.Sprintf("moved because node %q left", p.NodeID)
	case !r.nodes[node].Eligible:
		return fmt.Sprintf("moved because node %q is ineligible", p.NodeID)
	case len(g.recs) == 0:
		return "no healthy node holds the data"
	case (p.Local || g.Locality == LocalityRequired) && !g.holds(node):
		return fmt.Sprintf("moved because node %q no longer holds the data", p.NodeID)
	case !r.nodes[node].fits(&g.Group):
		return fmt.Sprintf("moved because node %q lacks room", p.NodeID)
	}
	return ""
}

// placeOnHolders places each group on a holder with room, preferring
// holders of the original recordings over replica holders, then the least
// loaded. It returns the groups that have data but no holder with room.
func (r *run) placeOnHolders(groups []*groupState, reason Reason) (leftover []*groupState) {
	for _, g := range groups {
		if len(g.recs) == 0 {
			r.unplace(g, ReasonNoHolder, fmt.Sprintf("no healthy node holds a recording of camera %q in the group's range", g.CameraID))
			continue
		}
		best := -1
		for _, h := range g.holders {
			if r.nodes[h].fits(&g.Group) && (best < 0 || r.betterHolder(g, h, best)) {
				best = h
			}
		}
		if best < 0 {
			leftover = append(leftover, g)
			continue
		}
		r.place(g, best, reason, "")
	}
	return leftover
}

// betterHolder reports whether holder a of g beats holder b: a holder of
// the original recordings beats a replica holder, and otherwise the one
// with more free room wins.
func (r *run) betterHolder(g *groupState, a, b int) bool {
	if ra, rb := g.replicaOnly(a), g.replicaOnly(b); ra != rb {
		return rb
	}
	return roomier(&r.nodes[a], &r.nodes[b], a, b)
}

// queueOnHolder places required group g on a holder that lacks room now:
// its previous node when that is an eligible holder, else the roomiest
// eligible holder. Its resources are taken, so later groups see the holder
// as full. With no eligible holder, g stays unplaced.
func (r *run) queueOnHolder(g *groupState) {
	best := -1
	for _, h := range g.holders {
		n := &r.nodes[h]
		if !n.Eligible {
			continue
		}
		if p := r.prev[g.ID]; p != nil && p.NodeID == n.ID {
			best = h
			break
		}
		if best < 0 || roomier(n, &r.nodes[best], h, best) {
			best = h
		}
	}
	if best < 0 {
		r.unplace(g, ReasonHoldersFull, fmt.Sprintf("every holder of camera %q is draining or ineligible, and locality is required", g.CameraID))
		return
	}
	r.place(g, best, ReasonQueued, r.holdersFullDetail(g)+"; Nomad runs the group once room frees up")
}

func (r *run) holdersFullDetail(g *groupState) string {
	if len(g.holders) == 0 {
		return fmt.Sprintf("no single healthy node holds all %d recordings of camera %q in the group's range", len(g.recs), g.CameraID)
	}
	ids := make([]string, len(g.holders))
	for i, h := range g.holders {
		ids[i] = r.nodes[h].ID
	}
	return fmt.Sprintf("holders %v lack %d MHz CPU or %d MB memory, and locality is required", ids, g.CPUMHz, g.MemoryMB)
}

// place records g on node and takes its resources. An empty reason is
// derived from where the data is.
func (r *run) place(g *groupState, node int, reason Reason, detail string) {
	n := &r.nodes[node]
	n.take(&g.Group)
	if r.heaps != nil {
		r.heaps.fix(node)
	}
	moved, across := r.bytesMoved(g, node)
	if detail == "" {
		detail = g.moveCause
	}
	if reason == "" {
		reason = r.classify(g, node, moved, across)
	}
	r.decisions[g.order] = decision{placed: true, placement: Placement{
		GroupID: g.ID, CameraID: g.CameraID, NodeID: n.ID, Site: n.Site,
		Local: moved == 0, BytesMoved: moved, BytesMovedAcrossSites: across,
		Reason: reason, Detail: detail,
	}}
	r.decided(g)
}

func (r *run) classify(g *groupState, node int, moved, across int64) Reason {
	switch {
	case moved == 0:
		return ReasonLocal
	case moved < g.bytes:
		return ReasonPartial
	case across == 0:
		return ReasonSameSite
	default:
		return ReasonRemote
	}
}

func (r *run) unplace(g *groupState, reason Reason, detail string) {
	r.decisions[g.order] = decision{unplaced: Unplaced{GroupID: g.ID, CameraID: g.CameraID, Reason: reason, Detail: detail}}
	r.decided(g)
}

func (r *run) decided(g *groupState) {
	if r.opts.OnDecision != nil {
		r.opts.OnDecision(g.ID)
	}
}

// plan collects the decisions in input order and sums them.
func (r *run) plan() Plan {
	p := Plan{Placements: make([]Placement, 0, len(r.decisions))}
	for i := range r.decisions {
		d := &r.decisions[i]
		if !d.placed {
			p.Unplaced = append(p.Unplaced, d.unplaced)
			continue
		}
		pl := d.placement
		p.Placements = append(p.Placements, pl)
		if prev := r.prev[pl.GroupID]; prev != nil {
			if prev.NodeID == pl.NodeID {
				p.Totals.Kept++
			} else {
				p.Totals.Moved++
			}
		}
	}
	p.Totals = sumPlan(p)
	return p
}

// sumPlan fills in the totals of p that follow from its lists, leaving Kept
// and Moved as they are.
func sumPlan(p Plan) Totals {
	t := p.Totals
	t.Placed, t.Unplaced = len(p.Placements), len(p.Unplaced)
	t.Local, t.BytesMoved, t.BytesMovedAcrossSites = 0, 0, 0
	for _, pl := range p.Placements {
		if pl.Local {
			t.Local++
		}
		t.BytesMoved += pl.BytesMoved
		t.BytesMovedAcrossSites += pl.BytesMovedAcrossSites
	}
	return t
}
