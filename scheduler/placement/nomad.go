package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// NomadAlgorithm is a Nomad scheduler_algorithm setting.
type NomadAlgorithm string

const (
	// NomadBinpack is Nomad's default: the fullest node that fits wins.
	NomadBinpack NomadAlgorithm = "binpack"
	// NomadSpread prefers the emptiest node, here together with a spread
	// block over sites.
	NomadSpread NomadAlgorithm = "spread"
)

// NomadModel configures PlaceNomad.
type NomadModel struct {
	Algorithm NomadAlgorithm
	// Seed drives the node shuffle that Nomad performs once per
	// evaluation.
	Seed uint64
	// Limit is how many feasible nodes are scored per group. Zero means
	// Nomad's value (scheduler/feasible/stack.go): for binpack
	// max(2, ceil(log2(nodes))), the rule for service jobs (batch jobs use
	// 2), and for spread 100, the default node_limit_for_feasibility_checks
	// that Nomad applies to groups with spread blocks.
	Limit int
	// OnDecision, when set, is called once after each group's decision
	// with the group's ID, as Options.OnDecision is for Place.
	OnDecision func(groupID string)
}

func (m NomadModel) decided(groupID string) {
	if m.OnDecision != nil {
		m.OnDecision(groupID)
	}
}

// nomadSpreadLimit is Nomad's node limit for groups with spread blocks.
const nomadSpreadLimit = 100

// PlaceNomad models where Nomad's scheduler would place the same groups,
// knowing nothing of where data is, so that Place can be compared with it.
// It shuffles the nodes once with Seed and walks them from where the
// previous group stopped, as Nomad's iterator does. For each group it
// scores the first Limit nodes that fit and takes the best. The score is
// Nomad's fit score: binpack 20 - (10^freeCPU + 10^freeMemory) with free
// shares after placement, spread the negation of it. Spread also adds a
// boost for sites holding fewer of the groups than the average, and the
// two scores are averaged.
//
// NOTE: the model leaves out constraints, affinities, job anti-affinity,
// preemption and reserved resources, none of which this input carries.
// Locality and the previous plan are ignored, as Nomad has neither. Bytes
// are counted as for Place, so a group that lands on a holder by chance
// moves nothing.
func PlaceNomad(in Input, m NomadModel) (Plan, error) {
	if err := validateInput(in); err != nil {
		return Plan{}, err
	}
	if m.Algorithm != NomadBinpack && m.Algorithm != NomadSpread {
		return Plan{}, fmt.Errorf("%w: nomad algorithm %q is unknown; use %q or %q", ErrInvalidInput, m.Algorithm, NomadBinpack, NomadSpread)
	}
	if m.Limit < 0 {
		return Plan{}, fmt.Errorf("%w: nomad limit %d is negative; use 0 for Nomad's default", ErrInvalidInput, m.Limit)
	}
	s := newState(in)
	w := newNomadWalk(s, m)

	var p Plan
	for i := range s.groups {
		g := &s.groups[i]
		node := w.selectNode(&g.Group)
		if node < 0 {
			p.Unplaced = append(p.Unplaced, Unplaced{GroupID: g.ID, CameraID: g.CameraID, Reason: ReasonNoCapacity,
				Detail: fmt.Sprintf("no eligible node has %d MHz CPU and %d MB memory free", g.CPUMHz, g.MemoryMB)})
			m.decided(g.ID)
			continue
		}
		s.nodes[node].take(&g.Group)
		w.siteCount[s.nodes[node].Site]++
		w.placed++
		moved, across := s.bytesMoved(g, node)
		reason := ReasonNoData
		if moved == 0 {
			reason = ReasonLocal
		}
		p.Placements = append(p.Placements, Placement{
			GroupID: g.ID, CameraID: g.CameraID, NodeID: s.nodes[node].ID, Site: s.nodes[node].Site,
			Local: moved == 0, BytesMoved: moved, BytesMovedAcrossSites: across, Reason: reason,
		})
		m.decided(g.ID)
	}
	p.Totals = sumPlan(p)
	return p, nil
}

// nomadWalk is the shuffled node order and the state Nomad keeps across
// the placements of one evaluation.
type nomadWalk struct {
	s         *state
	algorithm NomadAlgorithm
	order     []int
	offset    int
	limit     int
	siteCount map[string]int
	placed    int
}

func newNomadWalk(s *state, m NomadModel) *nomadWalk {
	w := &nomadWalk{s: s, algorithm: m.Algorithm, limit: m.Limit, siteCount: make(map[string]int)}
	w.order = make([]int, len(s.nodes))
	for i := range w.order {
		w.order[i] = i
	}
	rng := rand.New(rand.NewPCG(m.Seed, m.Seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(w.order), func(i, j int) { w.order[i], w.order[j] = w.order[j], w.order[i] })
	if w.limit == 0 {
		w.limit = defaultNomadLimit(m.Algorithm, len(s.nodes))
	}
	return w
}

func defaultNomadLimit(a NomadAlgorithm, nodes int) int {
	if a == NomadSpread {
		return nomadSpreadLimit
	}
	limit := 2
	if nodes > 0 {
		limit = max(limit, int(math.Ceil(math.Log2(float64(nodes)))))
	}
	return limit
}

// selectNode scores up to limit feasible nodes from the current offset and
// returns the best, or -1 when no node fits.
func (w *nomadWalk) selectNode(g *Group) int {
	best, bestScore, found := -1, 0.0, 0
	for seen := 0; seen < len(w.order) && found < w.limit; seen++ {
		node := w.order[w.offset]
		w.offset = (w.offset + 1) % len(w.order)
		if !w.s.nodes[node].fits(g) {
			continue
		}
		found++
		score := w.score(node, g)
		if best < 0 || score > bestScore {
			best, bestScore = node, score
		}
	}
	return best
}

func (w *nomadWalk) score(node int, g *Group) float64 {
	n := &w.s.nodes[node]
	freeCPU := share(n.freeCPU-g.CPUMHz, n.CPUMHz)
	freeMem := share(n.freeMem-g.MemoryMB, n.MemoryMB)
	total := math.Pow(10, freeCPU) + math.Pow(10, freeMem)
	if w.algorithm == NomadBinpack {
		return math.Min(20-total, 18) / 18
	}
	fit := math.Min(total-2, 18) / 18
	sites := len(w.s.sites)
	if w.placed == 0 || sites == 0 {
		return fit
	}
	mean := float64(w.placed) / float64(sites)
	boost := (mean - float64(w.siteCount[n.Site])) / mean
	return (fit + math.Max(-1, math.Min(1, boost))) / 2
}

func share(part, whole int64) float64 {
	if whole <= 0 {
		return 0
	}
	return float64(part) / float64(whole)
}
