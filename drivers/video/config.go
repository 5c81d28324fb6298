package video

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-video/ferry/plugins/hclspec"
)

// Defaults of the plugin config.
const (
	defaultEndpoint          = "unix:///var/run/docker.sock"
	defaultImageDelay        = 3 * time.Minute
	defaultFingerprintPeriod = 30 * time.Second
	defaultPullTimeout       = 5 * time.Minute
	defaultRecordingsPath    = "/recordings"
	defaultOrphanGrace       = 5 * time.Minute
)

// PluginConfig is the agent's `plugin "video" { config { ... } }` block.
type PluginConfig struct {
	// Endpoint is the Docker Engine API address. Default
	// unix:///var/run/docker.sock.
	Endpoint string `codec:"endpoint"`
	// CameraStorage are the storage roots. Each root contains one folder per
	// camera id, with that camera's recordings inside.
	CameraStorage []string `codec:"camera_storage"`
	// AllowedHostPaths are the host folders that task volumes may come from.
	AllowedHostPaths []string `codec:"allowed_host_paths"`
	// AllowPrivileged lets tasks run privileged containers. Default false.
	AllowPrivileged bool `codec:"allow_privileged"`
	// GC is the image garbage collection policy.
	GC *GCConfig `codec:"gc"`
	// FingerprintPeriod is how often the driver checks Docker and rescans
	// camera storage, as a Go duration. Default "30s".
	FingerprintPeriod string `codec:"fingerprint_period"`
	// PullTimeout limits one image pull, as a Go duration. Default "5m".
	PullTimeout string `codec:"pull_timeout"`
	// Logs is the rotation of the task log files the driver writes.
	Logs *LogsConfig `codec:"logs"`
	// OrphanGrace is how long a container of this node that no task owns
	// is kept before the driver removes it, as a Go duration, counted from
	// the later of its creation and the plugin's start. It also covers the
	// pause containers of bridge-mode groups: one is removed once its
	// allocation has had no task container, running or stopped, for this
	// long. "0" turns the removal off for both. Default "5m".
	OrphanGrace string `codec:"orphan_grace"`
	// Staging fetches a camera's recordings from a peer node when a task
	// requests a camera this node does not hold. Default none.
	Staging *StagingConfig `codec:"staging"`

	fingerprintPeriod time.Duration
	pullTimeout       time.Duration
	orphanGrace       time.Duration
}

// GCConfig is the `gc` block of the plugin config.
type GCConfig struct {
	// Image removes a task's image once no container uses it. Default true.
	Image *bool `codec:"image"`
	// ImageDelay is how long an unused image is kept, as a Go duration.
	// Default "3m".
	ImageDelay string `codec:"image_delay"`

	imageDelay time.Duration
}

// pluginConfigSpec is the schema of PluginConfig.
var pluginConfigSpec = hclspec.Object(map[string]*hclspec.Spec{
	"endpoint": hclspec.Default(
		hclspec.Attr("endpoint", "string"), hclspec.Literal(`"`+defaultEndpoint+`"`)),
	"camera_storage":     hclspec.Attr("camera_storage", "list(string)"),
	"allowed_host_paths": hclspec.Attr("allowed_host_paths", "list(string)"),
	"allow_privileged": hclspec.Default(
		hclspec.Attr("allow_privileged", "bool"), hclspec.Literal("false")),
	"gc": hclspec.Block("gc", hclspec.Object(map[string]*hclspec.Spec{
		"image": hclspec.Default(
			hclspec.Attr("image", "bool"), hclspec.Literal("true")),
		"image_delay": hclspec.Default(
			hclspec.Attr("image_delay", "string"), hclspec.Literal(`"3m"`)),
	})),
	"fingerprint_period": hclspec.Default(
		hclspec.Attr("fingerprint_period", "string"), hclspec.Literal(`"30s"`)),
	"pull_timeout": hclspec.Default(
		hclspec.Attr("pull_timeout", "string"), hclspec.Literal(`"5m"`)),
	"orphan_grace": hclspec.Default(
		hclspec.Attr("orphan_grace", "string"), hclspec.Literal(`"5m"`)),
	"logs": hclspec.Block("logs", hclspec.Object(map[string]*hclspec.Spec{
		"max_files": hclspec.Default(
			hclspec.Attr("max_files", "number"), hclspec.Literal("10")),
		"max_file_size_mb": hclspec.Default(
			hclspec.Attr("max_file_size_mb", "number"), hclspec.Literal("10")),
	})),
	"staging": hclspec.Block("staging", hclspec.Object(map[string]*hclspec.Spec{
		"peers":      hclspec.Attr("peers", "list(string)"),
		"token_file": hclspec.Attr("token_file", "string"),
		"ca_file":    hclspec.Attr("ca_file", "string"),
	})),
})

// validate applies defaults and checks every field.
func (c *PluginConfig) validate() error {
	if c.Endpoint == "" {
		c.Endpoint = defaultEndpoint
	}
	if c.GC == nil {
		c.GC = &GCConfig{}
	}
	if c.GC.Image == nil {
		enabled := true
		c.GC.Image = &enabled
	}

	if c.Logs == nil {
		c.Logs = &LogsConfig{}
	}
	if err := c.Logs.validate(); err != nil {
		return err
	}

	var err error
	if c.fingerprintPeriod, err = parseDuration("fingerprint_period", c.FingerprintPeriod, defaultFingerprintPeriod); err != nil {
		return err
	}
	if c.pullTimeout, err = parseDuration("pull_timeout", c.PullTimeout, defaultPullTimeout); err != nil {
		return err
	}
	if c.orphanGrace, err = parseOrphanGrace(c.OrphanGrace); err != nil {
		return err
	}
	if c.GC.imageDelay, err = parseDuration("gc.image_delay", c.GC.ImageDelay, defaultImageDelay); err != nil {
		return err
	}

	if c.Staging != nil {
		if err := c.Staging.validate(); err != nil {
			return err
		}
	}

	for i, root := range c.CameraStorage {
		if !filepath.IsAbs(root) {
			return fmt.Errorf("invalid camera_storage[%d] %q: use an absolute path", i, root)
		}
		c.CameraStorage[i] = filepath.Clean(root)
	}
	for i, root := range c.AllowedHostPaths {
		if !filepath.IsAbs(root) {
			return fmt.Errorf("invalid allowed_host_paths[%d] %q: use an absolute path", i, root)
		}
		c.AllowedHostPaths[i] = filepath.Clean(root)
	}
	return nil
}

func parseDuration(field, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: use a positive Go duration such as \"30s\" or \"5m\"", field, value)
	}
	return d, nil
}

// parseOrphanGrace accepts a positive Go duration, or zero to turn the
// orphan sweep off.
func parseOrphanGrace(value string) (time.Duration, error) {
	if value == "" {
		return defaultOrphanGrace, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid orphan_grace %q: use a Go duration such as \"5m\", or \"0\" to keep containers that no task owns", value)
	}
	return d, nil
}

// TaskConfig is a task's `config { ... }` block.
type TaskConfig struct {
	// Image is the container image reference. Required.
	Image string `codec:"image"`
	// Entrypoint replaces the image's ENTRYPOINT when set.
	Entrypoint []string `codec:"entrypoint"`
	// Command replaces the image's CMD; Args follow it.
	Command string   `codec:"command"`
	Args    []string `codec:"args"`
	// Cameras are camera ids whose recordings are mounted read-only at
	// RecordingsPath/<camera>.
	Cameras []string `codec:"cameras"`
	// RecordingsPath is the container folder that camera folders are mounted
	// under. Default "/recordings".
	RecordingsPath string      `codec:"recordings_path"`
	Auth           *AuthConfig `codec:"auth"`
	// ForcePull pulls the image even when Docker already has it.
	ForcePull bool `codec:"force_pull"`
	// Labels are extra container labels, written `labels = { k = "v" }`
	// or as a `labels { k = "v" }` block.
	// Nomad 2.0.6's client passes a map attribute of a task config as a
	// list of maps, so the spec is list(map(string)), as for Nomad's docker
	// driver, and validate merges the list into labels.
	Labels []map[string]string `codec:"labels"`
	labels map[string]string
	// Volumes are "host:container[:ro]" binds. The host path must be
	// absolute and inside the plugin's allowed_host_paths.
	Volumes []string `codec:"volumes"`
	// NetworkMode is a Docker network mode such as "bridge", "host" or
	// "none". Default "bridge".
	NetworkMode string `codec:"network_mode"`
	// Ports are port labels of the group network to publish.
	Ports []string `codec:"ports"`
	// ShmSize is the size of /dev/shm in bytes. Zero keeps Docker's default.
	ShmSize    int64 `codec:"shm_size"`
	Privileged bool  `codec:"privileged"`
	// GPUs are the NVIDIA GPUs the task gets through Docker's nvidia device
	// driver: a count, "all", or "device=" with comma-separated GPU indexes
	// or UUIDs, as in Docker's --gpus flag. Default none.
	GPUs string `codec:"gpus"`
	// DRIDevices passes the node's /dev/dri render nodes, for VA-API
	// decoding. Default false.
	DRIDevices bool `codec:"dri_devices"`
	// RestartOnBoot gives the container Docker's restart policy
	// unless-stopped, so that it starts again with the host even while the
	// Nomad servers are unreachable. Default false, which is policy "no".
	RestartOnBoot bool `codec:"restart_on_boot"`
}

// AuthConfig is the registry login for the image pull. It is never logged.
type AuthConfig struct {
	Username      string `codec:"username"`
	Password      string `codec:"password"`
	ServerAddress string `codec:"server_address"`
}

// taskConfigSpec is the schema of TaskConfig.
var taskConfigSpec = hclspec.Object(map[string]*hclspec.Spec{
	"image":      hclspec.RequiredAttr("image", "string"),
	"entrypoint": hclspec.Attr("entrypoint", "list(string)"),
	"command":    hclspec.Attr("command", "string"),
	"args":       hclspec.Attr("args", "list(string)"),
	"cameras":    hclspec.Attr("cameras", "list(string)"),
	"recordings_path": hclspec.Default(
		hclspec.Attr("recordings_path", "string"), hclspec.Literal(`"`+defaultRecordingsPath+`"`)),
	"auth": hclspec.Block("auth", hclspec.Object(map[string]*hclspec.Spec{
		"username":       hclspec.Attr("username", "string"),
		"password":       hclspec.Attr("password", "string"),
		"server_address": hclspec.Attr("server_address", "string"),
	})),
	"force_pull":   hclspec.Attr("force_pull", "bool"),
	"labels":       hclspec.Attr("labels", "list(map(string))"),
	"volumes":      hclspec.Attr("volumes", "list(string)"),
	"network_mode": hclspec.Attr("network_mode", "string"),
	"ports":        hclspec.Attr("ports", "list(string)"),
	"shm_size":     hclspec.Attr("shm_size", "number"),
	"privileged":   hclspec.Attr("privileged", "bool"),
	"gpus":         hclspec.Attr("gpus", "string"),
	"dri_devices":  hclspec.Attr("dri_devices", "bool"),
	"restart_on_boot": hclspec.Default(
		hclspec.Attr("restart_on_boot", "bool"), hclspec.Literal("false")),
})

// validate applies defaults and checks the fields that need no node state.
func (c *TaskConfig) validate(plugin *PluginConfig) error {
	if strings.TrimSpace(c.Image) == "" {
		return fmt.Errorf("missing image: set image to a container image reference such as \"ffmpeg:6\"")
	}
	if c.RecordingsPath == "" {
		c.RecordingsPath = defaultRecordingsPath
	}
	if !filepath.IsAbs(c.RecordingsPath) {
		return fmt.Errorf("invalid recordings_path %q: use an absolute path inside the container", c.RecordingsPath)
	}
	if c.Privileged && !plugin.AllowPrivileged {
		return fmt.Errorf("privileged = true is not allowed on this node: remove it, or set allow_privileged = true in the video plugin config")
	}
	if _, err := parseGPUs(c.GPUs); err != nil {
		return err
	}
	if c.ShmSize < 0 {
		return fmt.Errorf("invalid shm_size %d: use a size in bytes, or 0 for Docker's default", c.ShmSize)
	}
	if err := c.mergeLabels(); err != nil {
		return err
	}
	for _, camera := range c.Cameras {
		if camera == "" || strings.ContainsAny(camera, "/\\") || camera == "." || camera == ".." {
			return fmt.Errorf("invalid camera id %q in cameras: use the name of a camera folder", camera)
		}
	}
	return nil
}

// mergeLabels merges the maps of Labels into labels and rejects keys with
// the driver's prefix and keys set twice.
func (c *TaskConfig) mergeLabels() error {
	c.labels = make(map[string]string)
	for _, m := range c.Labels {
		for key, value := range m {
			if strings.HasPrefix(key, labelPrefix) {
				return fmt.Errorf("invalid label %q: the prefix %q is reserved for the driver", key, labelPrefix)
			}
			if _, dup := c.labels[key]; dup {
				return fmt.Errorf("label %q is set twice in labels: keep one of them", key)
			}
			c.labels[key] = value
		}
	}
	return nil
}
