package vsphere

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// PluginName is the driver name jobs use and the binary's file name.
const PluginName = "vsphere"

// PluginVersion is the driver's version reported to Nomad.
const PluginVersion = "0.1.0"

var _ plugins.Driver = (*Driver)(nil)

var recoverable = plugins.Recoverable

// Driver implements plugins.Driver on top of the vSphere API.
type Driver struct {
	logger hclog.Logger
	clock  clock
	conn   *connection
	events *plugins.EventBroker
	tasks  *taskStore
	// orphans counts how often each unknown VM was seen, by VM id.
	orphans *orphanTracker
	// attrs sets the nomad.* custom attributes on started VMs.
	attrs *customAttributes
	// hooks are the vSphere calls tests replace to inject failures.
	hooks hooks
}

// New returns a driver without a vCenter. Nomad calls SetConfig before it
// starts tasks.
func New(logger hclog.Logger) *Driver {
	return newDriver(logger, realClock{})
}

func newDriver(logger hclog.Logger, clk clock) *Driver {
	cfg := &PluginConfig{}
	if err := cfg.validate(); err != nil {
		panic(fmt.Sprintf("default plugin config is invalid: %v", err))
	}
	cfg.clones = make(chan struct{}, cfg.MaxConcurrentClones)
	logger = logger.Named(PluginName)
	d := &Driver{
		logger:  logger,
		clock:   clk,
		conn:    &connection{cfg: cfg},
		events:  plugins.NewEventBroker(),
		tasks:   newTaskStore(),
		orphans: newOrphanTracker(),
		attrs:   &customAttributes{logger: logger},
		hooks:   defaultHooks(),
	}
	return d
}

// Info returns the plugin's type, name and version.
func (d *Driver) Info() plugins.Info {
	return plugins.Info{Type: plugins.PluginTypeDriver, Name: PluginName, Version: PluginVersion}
}

// ConfigSpec returns the schema of the agent's plugin config block.
func (d *Driver) ConfigSpec() *hclspec.Spec { return pluginConfigSpec }

// TaskConfigSpec returns the schema of a task's config block.
func (d *Driver) TaskConfigSpec() *hclspec.Spec { return taskConfigSpec }

// SetConfig decodes, validates and applies the plugin config. It does not
// contact vCenter, so that an agent starts while vCenter is down; the
// fingerprint reports the connection's health.
func (d *Driver) SetConfig(data []byte, _ *plugins.AgentConfig) error {
	cfg := &PluginConfig{}
	if len(data) > 0 {
		if err := plugins.DecodeConfig(data, cfg); err != nil {
			return fmt.Errorf("decode vsphere plugin config: %w", err)
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	d.applyConfig(cfg)
	return nil
}

// applyConfig installs a validated config.
func (d *Driver) applyConfig(cfg *PluginConfig) {
	// NOTE: clones in flight keep their slot in the old config's
	// semaphore, so the limit may be exceeded while they finish.
	cfg.clones = make(chan struct{}, cfg.MaxConcurrentClones)
	d.conn.replace(cfg)
	d.attrs.reset()
	if cfg.configured() {
		d.logger.Info("configured vCenter", "url", cfg.url.String(), "username", cfg.Username)
	}
}

// Capabilities reports the features of the driver.
func (d *Driver) Capabilities() plugins.Capabilities {
	return plugins.Capabilities{
		SendSignals:          true,
		Exec:                 true,
		FSIsolation:          plugins.FSIsolationImage,
		NetIsolationModes:    []plugins.NetIsolationMode{plugins.NetIsolationHost},
		NoMounts:             true,
		DisableLogCollection: true,
	}
}

// TaskEvents returns one stream of events, such as orphaned VMs, for all
// tasks.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *plugins.TaskEvent, error) {
	return d.events.Subscribe(ctx), nil
}

// clock is the time source of every loop that waits, so that tests advance
// time without sleeping.
type clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
