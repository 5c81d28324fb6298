package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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
	// Wait bounds each blocking query, so that an idle catalog still
	// returns and the catalog lag metric stays below it. Default 30s.
	Wait time.Duration
}

var _ CatalogSource = (*ConsulCatalog)(nil)

// Read runs a blocking query on the passing instances of the service, as
// catalog.Read does but with a bounded wait, then reads the KV documents.
func (c *ConsulCatalog) Read(ctx context.Context, index uint64) (Catalog, uint64, error) {
	wait := c.Wait
	if wait <= 0 {
		wait = 30 * time.Second
	}
	opts := (&api.QueryOptions{WaitIndex: index, WaitTime: wait}).WithContext(ctx)
	entries, meta, err := c.Client.Health().Service(c.Service, "", true, opts)
	if err != nil {
		return Catalog{}, index, fmt.Errorf("read consul service %q: %w", c.Service, err)
	}
	holdings, next := catalog.FromEntries(entries), meta.LastIndex
	details, err := c.readDetails(ctx)
	if err != nil {
		return Catalog{}, index, err
	}
	return Catalog{Holdings: holdings, Details: details}, next, nil
}

// readDetails reads each <prefix>/<node>/<camera> document. A document
// that does not decode is left out, as if it were missing.
func (c *ConsulCatalog) readDetails(ctx context.Context) (map[string]map[string]CameraDetail, error) {
	prefix := strings.TrimSuffix(c.KVPrefix, "/") + "/"
	pairs, _, err := c.Client.KV().List(prefix, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("read consul kv %q: %w", prefix, err)
	}
	out := make(map[string]map[string]CameraDetail)
	for _, pair := range pairs {
		node, camera, ok := strings.Cut(strings.TrimPrefix(pair.Key, prefix), "/")
		if !ok {
			continue
		}
		var detail CameraDetail
		if json.Unmarshal(pair.Value, &detail) != nil {
			continue
		}
		if out[node] == nil {
			out[node] = make(map[string]CameraDetail)
		}
		out[node][camera] = detail
	}
	return out, nil
}
