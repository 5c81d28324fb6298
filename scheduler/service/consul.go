package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/hashicorp/consul/api"
)

// CatalogSource reads the catalog.
type CatalogSource interface {
	// Read returns the catalog. With a non-zero index it blocks until the
	// storage service changes after it, or the query's wait time ends.
	Read(ctx context.Context, index uint64) (Catalog, uint64, error)
}

// ConsulCatalog reads the storage service that the registrar publishes and
// the recorded bytes from its per-camera KV documents.
type ConsulCatalog struct {
	Client *api.Client
	// Service is the storage service name, such as "camera-storage".
	Service string
	// KVPrefix is the folder of the per-camera documents, such as
	// "ferry/storage".
	KVPrefix string
}

var _ CatalogSource = (*ConsulCatalog)(nil)

// Read runs a blocking query on the service, then reads the KV documents.
func (c *ConsulCatalog) Read(ctx context.Context, index uint64) (Catalog, uint64, error) {
	holdings, next, err := catalog.Read(ctx, c.Client, c.Service, index)
	if err != nil {
		return Catalog{}, index, err
	}
	bytes, err := c.readBytes(ctx)
	if err != nil {
		return Catalog{}, index, err
	}
	return Catalog{Holdings: holdings, Bytes: bytes}, next, nil
}

// readBytes reads the bytes of each <prefix>/<node>/<camera> document.
// A document that does not decode counts as 0 bytes.
func (c *ConsulCatalog) readBytes(ctx context.Context) (map[string]map[string]int64, error) {
	prefix := strings.TrimSuffix(c.KVPrefix, "/") + "/"
	pairs, _, err := c.Client.KV().List(prefix, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read consul kv %q: %w", prefix, err)
	}
	out := make(map[string]map[string]int64)
	for _, pair := range pairs {
		node, camera, ok := strings.Cut(strings.TrimPrefix(pair.Key, prefix), "/")
		if !ok {
			continue
		}
		var detail struct {
			Bytes int64 `json:"bytes"`
		}
		if json.Unmarshal(pair.Value, &detail) != nil {
			continue
		}
		if out[node] == nil {
			out[node] = make(map[string]int64)
		}
		out[node][camera] = detail.Bytes
	}
	return out, nil
}
