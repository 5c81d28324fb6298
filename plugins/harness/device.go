package harness

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// DevicePlugin is a running device plugin process and typed clients for
// its base and device services.
type DevicePlugin struct {
	Base   *plugins.BaseClient
	Device *plugins.DeviceClient

	client *plugin.Client
}

// LaunchDevice starts the device plugin at path with args, completes
// Nomad's go-plugin handshake and dispenses the base and device clients.
// logger receives the plugin's stderr lines and may be nil.
func LaunchDevice(path string, args []string, logger hclog.Logger) (*DevicePlugin, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.DevicePluginSet(context.Background(), nil, nil),
		Cmd:              exec.Command(path, args...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           logger,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("launch plugin %q: %w", path, err)
	}

	base, err := rpc.Dispense(plugins.PluginSetBase)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense base plugin from %q: %w", path, err)
	}
	device, err := rpc.Dispense(plugins.PluginSetDevice)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense device plugin from %q: %w", path, err)
	}
	return &DevicePlugin{
		Base:   base.(*plugins.BaseClient),
		Device: device.(*plugins.DeviceClient),
		client: client,
	}, nil
}

// Close stops the plugin the way Nomad does at agent shutdown.
func (p *DevicePlugin) Close() { p.client.Kill() }

// SetConfigHCL encodes src, the body of the agent's plugin config block,
// against the plugin's ConfigSchema and sends it with SetConfig, with the
// agent settings Nomad sends to device plugins.
func (p *DevicePlugin) SetConfigHCL(ctx context.Context, src []byte, filename string) error {
	spec, err := p.Base.ConfigSchema(ctx)
	if err != nil {
		return fmt.Errorf("get config schema: %w", err)
	}
	var data []byte
	if spec != nil {
		data, err = hclspec.EncodeHCL(spec, src, filename, nil)
		if err != nil {
			return fmt.Errorf("failed to parse config: %w", err)
		}
	}
	return p.Base.SetConfig(ctx, data, &plugins.AgentConfig{})
}
