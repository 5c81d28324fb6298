// Package catalog reads which nodes hold which cameras from the Consul
// services that the storage registrar publishes.
package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"
)

// TagPrefix starts each camera tag on a storage service.
const TagPrefix = "camera:"

// Holding is the storage one node holds, as the catalog lists it.
type Holding struct {
	Site string
	// Cameras are the sanitised camera ids, sorted and without repeats.
	Cameras []string
}

// Holdings are the nodes' storage, by node name.
type Holdings map[string]Holding

// FromEntries builds holdings from the health entries of the storage
// service. Each entry's "node" meta names the node; an entry without it
// falls back to the Consul node name.
func FromEntries(entries []*api.ServiceEntry) Holdings {
	holdings := make(Holdings)
	for _, entry := range entries {
		if entry.Service == nil {
			continue
		}
		node := entry.Service.Meta["node"]
		if node == "" && entry.Node != nil {
			node = entry.Node.Node
		}
		holding := holdings[node]
		holding.Site = entry.Service.Meta["site"]
		for _, tag := range entry.Service.Tags {
			if id, ok := strings.CutPrefix(tag, TagPrefix); ok {
				holding.Cameras = append(holding.Cameras, id)
			}
		}
		slices.Sort(holding.Cameras)
		holding.Cameras = slices.Compact(holding.Cameras)
		holdings[node] = holding
	}
	return holdings
}

// Read returns the holdings of nodes whose storage check passes. With a
// non-zero waitIndex it is a blocking query that returns once the service
// changes after that index or Consul's wait time ends. The returned index
// is the one to pass to the next call.
func Read(ctx context.Context, client *api.Client, service string, waitIndex uint64) (Holdings, uint64, error) {
	opts := (&api.QueryOptions{WaitIndex: waitIndex}).WithContext(ctx)
	entries, meta, err := client.Health().Service(service, "", true, opts)
	if err != nil {
		return nil, 0, fmt.Errorf("read consul service %q: %w", service, err)
	}
	return FromEntries(entries), meta.LastIndex, nil
}
