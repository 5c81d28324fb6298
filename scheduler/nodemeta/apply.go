package nodemeta

import (
	"context"
	"errors"
	"fmt"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/hashicorp/nomad/api"
)

// ReadNodes returns every Nomad client node with its current metadata.
func ReadNodes(ctx context.Context, client *api.Client) ([]Node, error) {
	opts := (&api.QueryOptions{}).WithContext(ctx)
	stubs, _, err := client.Nodes().List(opts)
	if err != nil {
		return nil, fmt.Errorf("list nomad nodes: %w", err)
	}

	nodes := make([]Node, 0, len(stubs))
	for _, stub := range stubs {
		meta, err := client.Nodes().Meta().Read(stub.ID, opts)
		if err != nil {
			return nil, fmt.Errorf("read metadata of nomad node %q (%s): %w", stub.Name, stub.ID, err)
		}
		nodes = append(nodes, Node{ID: stub.ID, Name: stub.Name, Meta: meta.Meta})
	}
	return nodes, nil
}

// Apply sends each change to Nomad through POST /v1/client/metadata. It
// applies every change it can and returns the errors of the others joined.
func Apply(ctx context.Context, client *api.Client, changes []Change) error {
	opts := (&api.QueryOptions{}).WithContext(ctx)
	var errs []error
	for _, change := range changes {
		req := &api.NodeMetaApplyRequest{NodeID: change.NodeID, Meta: change.Meta}
		if _, err := client.Nodes().Meta().Apply(req, opts); err != nil {
			errs = append(errs, fmt.Errorf("apply metadata to nomad node %q (%s): %w", change.NodeName, change.NodeID, err))
		}
	}
	return errors.Join(errs...)
}

// Sync reads every node's metadata, applies the changes that make it match
// the holdings, and returns those changes.
func Sync(ctx context.Context, client *api.Client, holdings catalog.Holdings) ([]Change, error) {
	nodes, err := ReadNodes(ctx, client)
	if err != nil {
		return nil, err
	}
	changes := Plan(holdings, nodes)
	return changes, Apply(ctx, client, changes)
}
