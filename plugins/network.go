package plugins

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// NetworkManager is implemented by drivers that create the group network
// namespace themselves (Capabilities.MustCreateNetwork). Nomad calls
// CreateNetwork before the group's tasks start and configures the returned
// namespace with its CNI plugins, then calls DestroyNetwork once the
// allocation has stopped.
type NetworkManager interface {
	// CreateNetwork returns the network namespace of the allocation,
	// creating it if needed. created is false when the namespace already
	// existed, for example after a plugin or agent restart.
	CreateNetwork(ctx context.Context, allocID string, req *NetworkCreateRequest) (spec *NetworkIsolation, created bool, err error)
	// DestroyNetwork removes the allocation's namespace. spec is the one
	// CreateNetwork returned, or nil when Nomad has none, and an
	// allocation without a namespace is not an error.
	DestroyNetwork(ctx context.Context, allocID string, spec *NetworkIsolation) error
}

// NetworkCreateRequest holds the group network settings of CreateNetwork.
type NetworkCreateRequest struct {
	// Hostname is the group network's hostname, empty for the default.
	Hostname string
}

func (s *driverServer) networkManager() (NetworkManager, error) {
	manager, ok := s.impl.(NetworkManager)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "driver does not create group networks")
	}
	return manager, nil
}

func (s *driverServer) CreateNetwork(ctx context.Context, req *driverpb.CreateNetworkRequest) (*driverpb.CreateNetworkResponse, error) {
	manager, err := s.networkManager()
	if err != nil {
		return nil, err
	}
	if req.GetAllocId() == "" {
		return nil, errors.New("create network request has no alloc_id")
	}
	spec, created, err := manager.CreateNetwork(ctx, req.GetAllocId(), &NetworkCreateRequest{Hostname: req.GetHostname()})
	if err != nil {
		s.logger.Error("failed to create group network", "alloc_id", req.GetAllocId(), "error", err)
		return nil, err
	}
	return &driverpb.CreateNetworkResponse{IsolationSpec: netIsolationToProto(spec), Created: created}, nil
}

func (s *driverServer) DestroyNetwork(ctx context.Context, req *driverpb.DestroyNetworkRequest) (*driverpb.DestroyNetworkResponse, error) {
	manager, err := s.networkManager()
	if err != nil {
		return nil, err
	}
	if req.GetAllocId() == "" {
		return nil, errors.New("destroy network request has no alloc_id")
	}
	spec := netIsolationFromProto(req.GetIsolationSpec())
	if err := manager.DestroyNetwork(ctx, req.GetAllocId(), spec); err != nil {
		s.logger.Error("failed to destroy group network", "alloc_id", req.GetAllocId(), "error", err)
		return nil, err
	}
	return &driverpb.DestroyNetworkResponse{}, nil
}

// CreateNetwork requests the allocation's group network namespace from the
// driver, as Nomad's network hook does before the group's tasks start.
func (c *DriverClient) CreateNetwork(ctx context.Context, allocID string, req *NetworkCreateRequest) (*NetworkIsolation, bool, error) {
	msg := &driverpb.CreateNetworkRequest{AllocId: allocID}
	if req != nil {
		msg.Hostname = req.Hostname
	}
	resp, err := c.client.CreateNetwork(ctx, msg)
	if err != nil {
		return nil, false, err
	}
	return netIsolationFromProto(resp.GetIsolationSpec()), resp.GetCreated(), nil
}

// DestroyNetwork requests that the driver remove the allocation's group
// network.
func (c *DriverClient) DestroyNetwork(ctx context.Context, allocID string, spec *NetworkIsolation) error {
	msg := &driverpb.DestroyNetworkRequest{AllocId: allocID, IsolationSpec: netIsolationToProto(spec)}
	_, err := c.client.DestroyNetwork(ctx, msg)
	return err
}
