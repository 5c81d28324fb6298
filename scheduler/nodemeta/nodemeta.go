// Package nodemeta keeps each Nomad node's dynamic metadata in line with
// the camera storage the catalog lists for it, so jobspecs can constrain
// tasks with ${meta.ferry.cameras} and ${meta.ferry.site}. Plan is a pure
// function; Apply sends its result to Nomad.
package nodemeta

import (
	"maps"
	"slices"
	"strings"

	"github.com/ferry-video/ferry/scheduler/catalog"
)

// Metadata keys that nodemeta manages.
const (
	// KeyCameras is the comma-separated, sorted list of sanitised camera
	// ids the node holds.
	KeyCameras = "ferry.cameras"
	// KeySite is the node's site.
	KeySite = "ferry.site"
)

// Node is a Nomad client node and its current metadata.
type Node struct {
	ID   string
	Name string
	// Meta is the node's current metadata, static and dynamic merged.
	Meta map[string]string
}

// Change is the metadata update for one node. A nil value removes the key.
type Change struct {
	NodeID   string
	NodeName string
	Meta     map[string]*string
}

// Plan returns the metadata changes that make every node's ferry keys
// match the holdings, ordered by node name. A node that the holdings do not
// list loses its ferry keys. Nodes already in line get no change.
func Plan(holdings catalog.Holdings, nodes []Node) []Change {
	var changes []Change
	for _, node := range nodes {
		want := map[string]*string{KeyCameras: nil, KeySite: nil}
		if holding, ok := holdings[node.Name]; ok {
			cameras := strings.Join(sortedUnique(holding.Cameras), ",")
			want[KeyCameras], want[KeySite] = &cameras, &holding.Site
		}

		meta := make(map[string]*string)
		for _, key := range slices.Sorted(maps.Keys(want)) {
			current, set := node.Meta[key]
			switch {
			case want[key] == nil && set:
				meta[key] = nil
			case want[key] != nil && (!set || current != *want[key]):
				meta[key] = want[key]
			}
		}
		if len(meta) > 0 {
			changes = append(changes, Change{NodeID: node.ID, NodeName: node.Name, Meta: meta})
		}
	}
	slices.SortFunc(changes, func(a, b Change) int { return strings.Compare(a.NodeName, b.NodeName) })
	return changes
}

func sortedUnique(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
