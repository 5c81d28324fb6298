// Package harness launches a plugin binary the way a Nomad client does and
// drives it through the base and driver services, for conformance tests of
// any driver built on package plugins or on Nomad's own SDK.
package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// Plugin is a running plugin process and typed clients for its services.
type Plugin struct {
	Base   *plugins.BaseClient
	Driver *plugins.DriverClient

	path   string
	args   []string
	logger hclog.Logger
	client *plugin.Client
}

// Launch starts the plugin at path with args, completes Nomad's go-plugin
// handshake (gRPC only, with the magic cookie in the environment) and
// dispenses the base and driver clients. logger receives the plugin's
// stderr lines and may be nil.
func Launch(path string, args []string, logger hclog.Logger) (*Plugin, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	p := &Plugin{path: path, args: args, logger: logger}
	if err := p.start(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Plugin) start() error {
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  plugins.Handshake,
		Plugins:          plugins.DriverPluginSet(context.Background(), nil, nil),
		Cmd:              exec.Command(p.path, p.args...),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           p.logger,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return fmt.Errorf("launch plugin %q: %w", p.path, err)
	}

	base, err := rpc.Dispense(plugins.PluginSetBase)
	if err != nil {
		client.Kill()
		return fmt.Errorf("dispense base plugin from %q: %w", p.path, err)
	}
	driver, err := rpc.Dispense(plugins.PluginSetDriver)
	if err != nil {
		client.Kill()
		return fmt.Errorf("dispense driver plugin from %q: %w", p.path, err)
	}
	p.client = client
	p.Base = base.(*plugins.BaseClient)
	p.Driver = driver.(*plugins.DriverClient)
	return nil
}

// Pid returns the plugin's process ID.
func (p *Plugin) Pid() int { return p.client.ReattachConfig().Pid }

// Kill sends SIGKILL to the plugin process only, as after a crash, and
// waits until go-plugin has seen it exit. Tasks the plugin started keep
// running if the driver detached them.
func (p *Plugin) Kill() error {
	proc, err := os.FindProcess(p.Pid())
	if err != nil {
		return fmt.Errorf("find plugin process %d: %w", p.Pid(), err)
	}
	if err := proc.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill plugin process %d: %w", p.Pid(), err)
	}
	p.client.Kill()
	return nil
}

// Relaunch starts a new process of the same binary, as Nomad does after a
// plugin crash, replacing the clients. Call Kill or Close first.
func (p *Plugin) Relaunch() error {
	return p.start()
}

// Close stops the plugin the way Nomad does at agent shutdown: go-plugin's
// graceful shutdown, then SIGKILL after two seconds.
func (p *Plugin) Close() {
	p.client.Kill()
}

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// SetConfigHCL encodes src, the body of the agent's plugin config block,
// against the plugin's ConfigSchema and sends it with SetConfig. An empty
// src with no schema sends empty config, as Nomad does.
func (p *Plugin) SetConfigHCL(ctx context.Context, src []byte, filename string, agent *plugins.AgentConfig) error {
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
	} else if len(src) > 0 {
		return errors.New("plugin has no config schema, so its config block must be empty")
	}
	return p.Base.SetConfig(ctx, data, agent)
}

// EncodeTaskConfig encodes src, the body of a task's config block, against
// the driver's TaskConfigSchema, as Nomad does before StartTask.
func (p *Plugin) EncodeTaskConfig(ctx context.Context, src []byte, filename string) ([]byte, error) {
	spec, err := p.Driver.TaskConfigSchema(ctx)
	if err != nil {
		return nil, fmt.Errorf("get task config schema: %w", err)
	}
	if spec == nil {
		return nil, errors.New("nil spec given")
	}
	data, err := hclspec.EncodeHCL(spec, src, filename, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to parse config: %w", err)
	}
	return data, nil
}
