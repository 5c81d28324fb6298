package service

import (
	"maps"
	"slices"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
)

// settle decides whether the catalog is settling after a failed read or a
// Consul restart, and returns the catalog to accept. A restarted Consul
// lists each node again only when its registrar publishes, and may list a
// node before its KV documents are back. So for Config.EmptyGrace after
// the failure or restart, a node that the last accepted catalog listed
// but this read misses keeps its last holdings and documents. A listed
// node keeps its last document of each camera that it still holds but
// whose document this read lacks. Its groups then stay where they are,
// unless the node's Nomad client is down or ineligible, which placement
// checks on its own. The returned catalog has Settling set.
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
	cat.Settling = true
	var keptNodes, keptDocuments []string
	for _, node := range slices.Sorted(maps.Keys(st.last.Holdings)) {
		if _, listed := cat.Holdings[node]; listed {
			if keepDetails(cat, *st.last, node) {
				keptDocuments = append(keptDocuments, node)
			}
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
	if len(keptDocuments) > 0 {
		s.log.Info("catalog is settling; keeping the last KV documents of nodes whose documents are not back yet", "nodes", keptDocuments, "settle_since", st.settleSince)
	}
	return cat
}

// keepDetails copies into cat the last KV document of each camera that
// node holds in cat but has no document for, and reports whether it
// copied any. The node's map is copied before it is changed, because it
// belongs to the catalog that the source returned.
func keepDetails(cat, last Catalog, node string) bool {
	kept := false
	for _, camera := range cat.Holdings[node].Cameras {
		if _, ok := cat.Details[node][camera]; ok {
			continue
		}
		detail, ok := last.Details[node][camera]
		if !ok {
			continue
		}
		if !kept {
			cat.Details[node] = maps.Clone(cat.Details[node])
			if cat.Details[node] == nil {
				cat.Details[node] = make(map[string]CameraDetail)
			}
		}
		cat.Details[node][camera] = detail
		kept = true
	}
	return kept
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
