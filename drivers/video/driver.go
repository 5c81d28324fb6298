// Package video is the `video` Nomad task driver. It runs analytics
// containers through the Docker Engine API and mounts the camera recordings
// a task requests read-only. It writes container logs into Nomad's rotated
// log files from the plugin process, and fingerprints the cameras whose
// recordings the node stores.
package video

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// PluginName is the driver name jobs use and the binary's file name.
const PluginName = "video"

// PluginVersion is the driver's version reported to Nomad.
const PluginVersion = "0.1.0"

var _ plugins.Driver = (*Driver)(nil)

// Driver implements plugins.Driver on top of dockerd.
type Driver struct {
	logger hclog.Logger
	clock  clock
	events *plugins.EventBroker
	tasks  *taskStore
	gc     *imageCollector
	host   hostDevices
	// logHooks are set by tests only.
	logHooks logHooks
	// startedAt is when the driver was created, from which the orphan sweep
	// measures orphan_grace for containers created before.
	startedAt time.Time
	orphans   *orphanState
	pauses    *pauseState
	// lifecycleMu is held for reading while StartTask and RecoverTask create
	// or adopt a container, and for writing while the orphan sweep removes
	// containers, so that the sweep never removes one being adopted.
	lifecycleMu sync.RWMutex

	// mu guards the fields below it, which SetConfig replaces.
	mu        sync.RWMutex
	config    *PluginConfig
	docker    *client.Client
	inventory *inventory.Inventory

	// inventoryMu serialises rescans, because an Inventory is not safe for
	// concurrent use. It also guards skippedFiles.
	inventoryMu  sync.Mutex
	skippedFiles int

	// networkMu serialises CreateNetwork and DestroyNetwork, so that two
	// calls for one allocation never race on its pause container.
	networkMu sync.Mutex
	// pauseImage is PauseImage except in tests.
	pauseImage string
}

// New returns a driver with the default plugin config. Nomad calls SetConfig
// before it starts tasks.
func New(logger hclog.Logger) *Driver {
	d := &Driver{
		logger:     logger.Named(PluginName),
		clock:      realClock{},
		events:     plugins.NewEventBroker(),
		tasks:      newTaskStore(),
		host:       defaultHostDevices(),
		orphans:    newOrphanState(),
		pauses:     newPauseState(),
		pauseImage: PauseImage,
	}
	d.startedAt = d.clock.Now()
	d.gc = newImageCollector(d)

	cfg := &PluginConfig{}
	if err := cfg.validate(); err != nil {
		panic(fmt.Sprintf("default plugin config is invalid: %v", err))
	}
	if err := d.applyConfig(cfg); err != nil {
		d.logger.Error("failed to create the Docker client", "endpoint", cfg.Endpoint, "error", err)
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

// SetConfig decodes, validates and applies the plugin config.
func (d *Driver) SetConfig(data []byte, _ *plugins.AgentConfig) error {
	cfg := &PluginConfig{}
	if len(data) > 0 {
		if err := plugins.DecodeConfig(data, cfg); err != nil {
			return fmt.Errorf("decode video plugin config: %w", err)
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	return d.applyConfig(cfg)
}

func (d *Driver) applyConfig(cfg *PluginConfig) error {
	docker, err := client.NewClientWithOpts(
		client.WithHost(cfg.Endpoint),
		client.WithAPIVersionNegotiation(),
	)
	if err != nil {
		return fmt.Errorf("invalid endpoint %q: %w", cfg.Endpoint, err)
	}

	d.inventoryMu.Lock()
	inv := inventory.New(cfg.CameraStorage)
	d.inventoryMu.Unlock()

	d.mu.Lock()
	old := d.docker
	d.config, d.docker, d.inventory = cfg, docker, inv
	d.mu.Unlock()

	if old != nil {
		// NOTE: requests still running on the old client keep its
		// connections until they finish.
		d.logger.Debug("replaced the Docker client", "endpoint", cfg.Endpoint)
	}
	return nil
}

// state returns the current config and Docker client.
func (d *Driver) state() (*PluginConfig, *client.Client) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.config, d.docker
}

// Capabilities reports the features of the driver.
func (d *Driver) Capabilities() plugins.Capabilities {
	return plugins.Capabilities{
		SendSignals: true,
		Exec:        true,
		FSIsolation: plugins.FSIsolationImage,
		// The driver writes the task log files itself, so that no log
		// collector loses output while the plugin restarts.
		DisableLogCollection: true,
		// Docker cannot join a network namespace given by path, so the
		// driver creates the group namespace itself in a pause container
		// that the group's task containers join.
		NetIsolationModes: []plugins.NetIsolationMode{plugins.NetIsolationHost, plugins.NetIsolationGroup, plugins.NetIsolationTask},
		MustCreateNetwork: true,
	}
}

// TaskEvents returns a stream of events, such as image pull progress, for
// all tasks.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *plugins.TaskEvent, error) {
	return d.events.Subscribe(ctx), nil
}
