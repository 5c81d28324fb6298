// Package camera is the `camera` Nomad device plugin. It offers the node's
// V4L2 cameras and its configured IP cameras as devices of type "camera"
// from vendor "ferry", with their location, format and whether the node
// holds their recordings as attributes.
package camera

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// PluginName is the plugin's name and the binary's file name.
const PluginName = "camera"

// PluginVersion is the plugin's version reported to Nomad.
const PluginVersion = "0.1.0"

// Vendor and device type of every group; jobs request "ferry/camera".
const (
	vendor     = "ferry"
	deviceType = "camera"
)

// credentialsDir is the folder in the task where camera credentials files
// are mounted read-only, one folder per camera id. It is inside the task's
// secrets dir, which Nomad's drivers mount at /secrets.
const credentialsDir = "/secrets/ferry/cameras"

var _ plugins.DevicePlugin = (*Plugin)(nil)

// Plugin implements plugins.DevicePlugin for cameras.
type Plugin struct {
	logger     hclog.Logger
	clock      clock
	canCapture capabilityFunc
	probe      probeFunc
	formats    formatQuerier

	// mu guards the fields below it.
	mu        sync.Mutex
	config    *Config
	inventory *inventory.Inventory
	// last is the newest scan, which Reserve and Stats read.
	last *scan
	// reportedUnmatched are the match values of local_camera blocks
	// already logged as matching no camera under the current config.
	reportedUnmatched map[string]bool

	// inventoryMu serialises rescans, because an Inventory is not safe
	// for concurrent use.
	inventoryMu sync.Mutex
}

// New returns a plugin with the default config.
func New(logger hclog.Logger) *Plugin {
	cfg := &Config{}
	if err := cfg.validate(); err != nil {
		panic(fmt.Sprintf("default camera plugin config is invalid: %v", err))
	}
	return &Plugin{
		logger:     logger.Named(PluginName),
		clock:      realClock{},
		canCapture: queryCapture,
		probe:      probeRTSP,
		formats:    ioctlQuerier{},
		config:     cfg,
		inventory:  inventory.New(nil),

		reportedUnmatched: map[string]bool{},
	}
}

// Info returns the plugin's type, name and version.
func (p *Plugin) Info() plugins.Info {
	return plugins.Info{Type: plugins.PluginTypeDevice, Name: PluginName, Version: PluginVersion}
}

// ConfigSpec returns the schema of the agent's plugin config block.
func (p *Plugin) ConfigSpec() *hclspec.Spec { return configSpec }

// SetConfig decodes, validates and applies the plugin config.
func (p *Plugin) SetConfig(data []byte, _ *plugins.AgentConfig) error {
	cfg := &Config{}
	if len(data) > 0 {
		if err := plugins.DecodeConfig(data, cfg); err != nil {
			return fmt.Errorf("decode camera plugin config: %w", err)
		}
	}
	if err := cfg.validate(); err != nil {
		return err
	}

	p.mu.Lock()
	p.config, p.inventory, p.last = cfg, inventory.New(cfg.CameraStorage), nil
	p.reportedUnmatched = map[string]bool{}
	p.mu.Unlock()
	p.logger.Debug("config set", "sysfs_root", cfg.SysfsRoot, "ip_cameras", len(cfg.IPCameras), "local_cameras", len(cfg.LocalCameras))
	return nil
}

func (p *Plugin) currentConfig() *Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.config
}

// Reserve returns the device nodes, environment and mounts for the given
// cameras. A local camera is its device node with read and write access.
// An IP camera is FERRY_CAMERA_<ID>_URL and, when it has a credentials
// file, that file mounted read-only, whose task path is in
// FERRY_CAMERA_<ID>_CREDENTIALS_FILE.
func (p *Plugin) Reserve(ids []string) (*plugins.ContainerReservation, error) {
	s := p.lastScan()
	res := &plugins.ContainerReservation{Envs: map[string]string{}}
	for _, id := range ids {
		if cam, ok := s.localByID(id); ok {
			taskPath := path.Join("/dev", cam.Entry)
			res.Devices = append(res.Devices, plugins.DeviceSpec{TaskPath: taskPath, HostPath: cam.Node, Permissions: "rw"})
			res.Envs[envPrefix(id)+"DEVICE"] = taskPath
			continue
		}
		cam, ok := s.ipByID(id)
		if !ok {
			return nil, fmt.Errorf("unknown camera id %q: this node has [%s]", id, strings.Join(s.ids(), ", "))
		}
		res.Envs[envPrefix(id)+"URL"] = cam.RTSPURL
		if cam.CredentialsFile == "" {
			continue
		}
		if err := checkCredentialsFile(cam.CredentialsFile); err != nil {
			return nil, fmt.Errorf("camera %q: %w", id, err)
		}
		taskPath := path.Join(credentialsDir, id, "credentials")
		res.Mounts = append(res.Mounts, plugins.DeviceMount{TaskPath: taskPath, HostPath: cam.CredentialsFile, ReadOnly: true})
		res.Envs[envPrefix(id)+"CREDENTIALS_FILE"] = taskPath
	}
	return res, nil
}

// lastScan returns the newest scan, or a scan of local cameras and the
// configured IP cameras without probes when no fingerprint has run yet.
func (p *Plugin) lastScan() *scan {
	p.mu.Lock()
	s, cfg := p.last, p.config
	p.mu.Unlock()
	if s != nil {
		return s
	}
	s = &scan{config: cfg}
	p.scanLocal(s)
	return s
}

// ids returns every camera id of the scan, sorted.
func (s *scan) ids() []string {
	var ids []string
	for _, cam := range s.local {
		ids = append(ids, cam.ID)
	}
	for _, cam := range s.config.IPCameras {
		ids = append(ids, cam.ID)
	}
	sort.Strings(ids)
	return ids
}

func (s *scan) localByID(id string) (localCamera, bool) {
	for _, cam := range s.local {
		if cam.ID == id {
			return cam, true
		}
	}
	return localCamera{}, false
}

func (s *scan) ipByID(id string) (*IPCamera, bool) {
	for _, cam := range s.config.IPCameras {
		if cam.ID == id {
			return cam, true
		}
	}
	return nil, false
}
