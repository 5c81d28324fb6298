package plugins

import (
	"context"
	"time"

	devicepb "github.com/ferry-video/ferry/plugins/proto/device"
)

// DeviceClient calls a plugin's DevicePlugin service the way a Nomad client
// does. go-plugin returns it from Dispense(PluginSetDevice).
type DeviceClient struct {
	client devicepb.DevicePluginClient
}

// Fingerprint opens the fingerprint stream. Each message is the full list
// of device groups.
func (c *DeviceClient) Fingerprint(ctx context.Context) (*ClientStream[[]*DeviceGroup], error) {
	stream, err := c.client.Fingerprint(ctx, &devicepb.FingerprintRequest{})
	if err != nil {
		return nil, err
	}
	return &ClientStream[[]*DeviceGroup]{recv: func() ([]*DeviceGroup, error) {
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		groups := make([]*DeviceGroup, 0, len(resp.GetDeviceGroup()))
		for _, g := range resp.GetDeviceGroup() {
			groups = append(groups, deviceGroupFromProto(g))
		}
		return groups, nil
	}}, nil
}

// Reserve reserves the devices with the given ids.
func (c *DeviceClient) Reserve(ctx context.Context, ids []string) (*ContainerReservation, error) {
	resp, err := c.client.Reserve(ctx, &devicepb.ReserveRequest{DeviceIds: ids})
	if err != nil {
		return nil, err
	}
	return reservationFromProto(resp.GetContainerRes()), nil
}

// Stats opens the stats stream at the given interval.
func (c *DeviceClient) Stats(ctx context.Context, interval time.Duration) (*ClientStream[[]*DeviceGroupStats], error) {
	stream, err := c.client.Stats(ctx, &devicepb.StatsRequest{CollectionInterval: durationToProto(interval)})
	if err != nil {
		return nil, err
	}
	return &ClientStream[[]*DeviceGroupStats]{recv: func() ([]*DeviceGroupStats, error) {
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		groups := make([]*DeviceGroupStats, 0, len(resp.GetGroups()))
		for _, g := range resp.GetGroups() {
			groups = append(groups, deviceGroupStatsFromProto(g))
		}
		return groups, nil
	}}, nil
}
