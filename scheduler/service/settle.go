package service

import (
	"maps"
	"slices"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
)

// settle decides whether the catalog is settling after a failed read or a
// Consul restart, and returns the catalog to accept. A restarted Consul
// lists each node again only when its registrar publishes, so for
// Config.EmptyGrace after the failure or restart, a node that the last
// accepted catalog listed but this read misses keeps its last holdings and
// documents. Its groups then stay where they are, unless the node's Nomad
// client is down or ineligible, which placement checks on its own.
func (s *Service) settle(u catalogUpdate, st *catalogState, now time.Time) Catalog {
	if st.lastIndex > 0 && u.index < st.lastIndex && st.settleSince.IsZero() {
		s.log.Warn("catalog index went backwards, as after a Consul restart; keeping missing holders while registrars publish again",
			"index", u.index, "previous_index", st.lastIndex, "settle", s.cfg.EmptyGrace)
		st.settleSince = now
	}
	st.lastIndex = u.index
	if st.settleSince.IsZero() {
		return u.catalog
	}
	if now.Sub(st.settleSince) >= s.cfg.EmptyGrace || st.last == nil {
		st.settleSince = time.Time{}
		return u.catalog
	}

	cat := cloneCatalog(u.catalog)
	var keptNodes []string
	for _, node := range slices.Sorted(maps.Keys(st.last.Holdings)) {
		if _, listed := cat.Holdings[node]; listed {
			continue
		}
		cat.Holdings[node] = st.last.Holdings[node]
		if details, ok := st.last.Details[node]; ok {
			cat.Details[node] = details
		}
		keptNodes = append(keptNodes, node)
	}
	if len(keptNodes) > 0 {
		s.log.Info("catalog is settling; keeping the last holdings of nodes it does not list yet", "nodes", keptNodes, "settle_since", st.settleSince)
	}
	return cat
}

// cloneCatalog copies the node maps of cat, so that adding a node leaves
// the catalog that the source returned unchanged.
func cloneCatalog(cat Catalog) Catalog {
	out := cat
	out.Holdings = maps.Clone(cat.Holdings)
	if out.Holdings == nil {
		out.Holdings = make(catalog.Holdings)
	}
	out.Details = maps.Clone(cat.Details)
	if out.Details == nil {
		out.Details = make(map[string]map[string]CameraDetail)
	}
	return out
}
