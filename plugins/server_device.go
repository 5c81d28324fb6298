package plugins

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	devicepb "github.com/ferry-video/ferry/plugins/proto/device"
)

// ServeDevice serves d to a Nomad client on the go-plugin handshake and
// returns when Nomad kills the plugin.
func ServeDevice(d DevicePlugin) {
	ServeDeviceContext(context.Background(), d)
}

// ServeDeviceContext is ServeDevice with a context whose cancellation ends
// the Fingerprint and Stats streams.
func ServeDeviceContext(ctx context.Context, d DevicePlugin) {
	// The same SIGPIPE reasoning as for drivers applies: stderr may lose
	// its reader when the agent dies.
	signal.Ignore(syscall.SIGPIPE)

	logger := NewLogger(d.Info().Name)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         DevicePluginSet(ctx, d, logger),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}

// DevicePluginSet returns the go-plugin set {base, device} that serves d.
// Clients pass it with a nil device to get typed stubs.
func DevicePluginSet(ctx context.Context, d DevicePlugin, logger hclog.Logger) plugin.PluginSet {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return plugin.PluginSet{
		PluginSetBase:   &basePlugin{impl: d, logger: logger},
		PluginSetDevice: &devicePlugin{ctx: ctx, impl: d, logger: logger},
	}
}

type devicePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	ctx    context.Context
	impl   DevicePlugin
	logger hclog.Logger
}

func (p *devicePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	devicepb.RegisterDevicePluginServer(s, &deviceServer{
		serveCtx: p.ctx,
		impl:     p.impl,
		logger:   p.logger.Named("device"),
	})
	return nil
}

func (p *devicePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &DeviceClient{client: devicepb.NewDevicePluginClient(c)}, nil
}

// deviceServer serves the DevicePlugin service by calling a DevicePlugin.
type deviceServer struct {
	devicepb.UnimplementedDevicePluginServer
	serveCtx context.Context
	impl     DevicePlugin
	logger   hclog.Logger
}

func (s *deviceServer) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.serveCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

func (s *deviceServer) Fingerprint(_ *devicepb.FingerprintRequest, stream devicepb.DevicePlugin_FingerprintServer) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()

	ch, err := s.impl.Fingerprint(ctx)
	if err != nil {
		s.logger.Error("failed to start fingerprinting", "error", err)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case fp, ok := <-ch:
			if !ok {
				return nil
			}
			if fp == nil {
				continue
			}
			if fp.Err != nil {
				s.logger.Error("fingerprinting failed", "error", fp.Err)
				return fp.Err
			}
			if err := stream.Send(s.fingerprintToProto(fp)); err != nil {
				return err
			}
		}
	}
}

// fingerprintToProto converts the groups that pass ValidateDeviceGroup and
// logs the others, because one invalid group makes Nomad drop every
// device of the plugin.
func (s *deviceServer) fingerprintToProto(fp *DeviceFingerprint) *devicepb.FingerprintResponse {
	out := &devicepb.FingerprintResponse{DeviceGroup: []*devicepb.DeviceGroup{}}
	for _, g := range fp.Groups {
		if err := ValidateDeviceGroup(g); err != nil {
			s.logger.Error("dropped invalid device group from fingerprint", "error", err)
			continue
		}
		out.DeviceGroup = append(out.DeviceGroup, deviceGroupToProto(g))
	}
	return out
}

func (s *deviceServer) Reserve(_ context.Context, req *devicepb.ReserveRequest) (*devicepb.ReserveResponse, error) {
	res, err := s.impl.Reserve(req.GetDeviceIds())
	if err != nil {
		s.logger.Error("failed to reserve devices", "device_ids", req.GetDeviceIds(), "error", err)
		return nil, err
	}
	return &devicepb.ReserveResponse{ContainerRes: reservationToProto(res)}, nil
}

func (s *deviceServer) Stats(req *devicepb.StatsRequest, stream devicepb.DevicePlugin_StatsServer) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()

	interval := req.GetCollectionInterval().AsDuration()
	if interval <= 0 {
		interval = defaultStatsInterval
	}
	ch, err := s.impl.Stats(ctx, interval)
	if err != nil {
		s.logger.Error("failed to start stats", "error", err)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case groups, ok := <-ch:
			if !ok {
				return nil
			}
			resp := &devicepb.StatsResponse{}
			for _, g := range groups {
				if g != nil {
					resp.Groups = append(resp.Groups, deviceGroupStatsToProto(g))
				}
			}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
	}
}
