package plugins

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	basepb "github.com/ferry-video/ferry/plugins/proto/base"
	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// Handshake is the go-plugin handshake of Nomad 1.6 to 2.0: core protocol 1,
// app protocol 2 and Nomad's magic cookie.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  2,
	MagicCookieKey:   "NOMAD_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "e4327c2e01eabfd75a8a67adb114fb34a757d57eee7728d857a8cec6e91a7255",
}

// Plugin set keys. They never cross the wire; go-plugin uses them to find
// the local client stub on the one gRPC connection.
const (
	PluginSetBase   = "base"
	PluginSetDriver = "driver"
)

// NewLogger returns the logger a plugin should use: JSON lines at trace
// level on stderr, which Nomad relogs at each line's own level.
func NewLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

// ServeDriver serves d to a Nomad client on the go-plugin handshake and
// returns when Nomad kills the plugin. It does not return early on errors:
// go-plugin exits the process with status 1 if the magic cookie is missing.
func ServeDriver(d Driver) {
	ServeDriverContext(context.Background(), d)
}

// ServeDriverContext is ServeDriver with a context whose cancellation is
// passed to the streams the driver serves, such as Fingerprint and
// TaskEvents.
func ServeDriverContext(ctx context.Context, d Driver) {
	// After a Nomad agent dies, the plugin's stderr has no reader. Go
	// kills a process that writes to a broken stdout or stderr pipe unless
	// SIGPIPE is ignored, and a plugin kept for reattach must survive that.
	signal.Ignore(syscall.SIGPIPE)

	logger := NewLogger(d.Info().Name)
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         DriverPluginSet(ctx, d, logger),
		GRPCServer:      plugin.DefaultGRPCServer,
		Logger:          logger,
	})
}

// DriverPluginSet returns the go-plugin set that serves d. Clients pass
// it with a nil driver to get typed stubs for the base and driver services.
func DriverPluginSet(ctx context.Context, d Driver, logger hclog.Logger) plugin.PluginSet {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return plugin.PluginSet{
		PluginSetBase:   &basePlugin{impl: d, logger: logger},
		PluginSetDriver: &driverPlugin{ctx: ctx, impl: d, logger: logger},
	}
}

type basePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl   Base
	logger hclog.Logger
}

func (p *basePlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	basepb.RegisterBasePluginServer(s, &baseServer{impl: p.impl, logger: p.logger.Named("base")})
	return nil
}

func (p *basePlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &BaseClient{client: basepb.NewBasePluginClient(c)}, nil
}

type driverPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	ctx    context.Context
	impl   Driver
	logger hclog.Logger
}

func (p *driverPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	driverpb.RegisterDriverServer(s, &driverServer{
		serveCtx: p.ctx,
		impl:     p.impl,
		logger:   p.logger.Named("driver"),
	})
	return nil
}

func (p *driverPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &DriverClient{client: driverpb.NewDriverClient(c)}, nil
}
