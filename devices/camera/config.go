package camera

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-video/ferry/plugins/hclspec"
)

// Defaults of the plugin config.
const (
	defaultSysfsRoot         = "/sys/class/video4linux"
	defaultDevRoot           = "/dev"
	defaultFingerprintPeriod = 15 * time.Second
	defaultProbeTimeout      = 3 * time.Second
	defaultIPModel           = "rtsp"
	defaultRTSPPort          = "554"
)

// Config is the agent's `plugin "camera" { config { ... } }` block.
type Config struct {
	// SysfsRoot is the sysfs class folder of V4L2 devices. Default
	// "/sys/class/video4linux".
	SysfsRoot string `codec:"sysfs_root"`
	// DevRoot is the folder of the device nodes named in sysfs. Default
	// "/dev".
	DevRoot string `codec:"dev_root"`
	// Location is the location attribute of the node's local cameras,
	// such as "5th-and-main". Default empty, which leaves it out.
	Location string `codec:"location"`
	// CameraStorage are the storage roots of recordings, as in the video
	// driver: one folder per camera id. A camera whose folder has
	// recordings gets recordings = true.
	CameraStorage []string `codec:"camera_storage"`
	// FingerprintPeriod is how often cameras are rescanned and IP cameras
	// probed, as a Go duration. Default "15s".
	FingerprintPeriod string `codec:"fingerprint_period"`
	// ProbeTimeout bounds one RTSP OPTIONS probe, as a Go duration.
	// Default "3s".
	ProbeTimeout string `codec:"probe_timeout"`
	// IPCameras are the network cameras this node receives streams from.
	IPCameras []*IPCamera `codec:"ip_camera"`
	// LocalCameras declare or override attributes of V4L2 cameras.
	LocalCameras []*LocalCamera `codec:"local_camera"`

	fingerprintPeriod time.Duration
	probeTimeout      time.Duration
}

// IPCamera is one `ip_camera { ... }` block.
type IPCamera struct {
	// ID is the device ID Nomad schedules. Required, unique, and made of
	// letters, digits, '-' and '_'.
	ID string `codec:"id"`
	// Model is the device name in the group "ferry/camera/<model>".
	// Default "rtsp".
	Model string `codec:"model"`
	// RTSPURL is the stream address, "rtsp://host[:port]/path", without
	// credentials. Required.
	RTSPURL string `codec:"rtsp_url"`
	// CredentialsFile is a host file with the stream's login, which tasks
	// get mounted read-only. Optional; it must exist when set.
	CredentialsFile string `codec:"credentials_file"`
	Location        string `codec:"location"`
	// Resolution is "<width>x<height>", such as "1920x1080".
	Resolution string `codec:"resolution"`
	// FPS is frames per second; 0 leaves the attribute out.
	FPS   int64  `codec:"fps"`
	Codec string `codec:"codec"`

	probeAddr string
}

// configSpec is the schema of Config.
var configSpec = hclspec.Object(map[string]*hclspec.Spec{
	"sysfs_root": hclspec.Default(
		hclspec.Attr("sysfs_root", "string"), hclspec.Literal(`"`+defaultSysfsRoot+`"`)),
	"dev_root": hclspec.Default(
		hclspec.Attr("dev_root", "string"), hclspec.Literal(`"`+defaultDevRoot+`"`)),
	"location":       hclspec.Attr("location", "string"),
	"camera_storage": hclspec.Attr("camera_storage", "list(string)"),
	"fingerprint_period": hclspec.Default(
		hclspec.Attr("fingerprint_period", "string"), hclspec.Literal(`"15s"`)),
	"probe_timeout": hclspec.Default(
		hclspec.Attr("probe_timeout", "string"), hclspec.Literal(`"3s"`)),
	"ip_camera": hclspec.BlockList("ip_camera", hclspec.Object(map[string]*hclspec.Spec{
		"id":               hclspec.RequiredAttr("id", "string"),
		"model":            hclspec.Attr("model", "string"),
		"rtsp_url":         hclspec.RequiredAttr("rtsp_url", "string"),
		"credentials_file": hclspec.Attr("credentials_file", "string"),
		"location":         hclspec.Attr("location", "string"),
		"resolution":       hclspec.Attr("resolution", "string"),
		"fps":              hclspec.Attr("fps", "number"),
		"codec":            hclspec.Attr("codec", "string"),
	})),
	"local_camera": localCameraSpec,
})

// validate applies defaults and checks every field.
func (c *Config) validate() error {
	if c.SysfsRoot == "" {
		c.SysfsRoot = defaultSysfsRoot
	}
	if c.DevRoot == "" {
		c.DevRoot = defaultDevRoot
	}
	var err error
	if c.fingerprintPeriod, err = parseDuration("fingerprint_period", c.FingerprintPeriod, defaultFingerprintPeriod); err != nil {
		return err
	}
	if c.probeTimeout, err = parseDuration("probe_timeout", c.ProbeTimeout, defaultProbeTimeout); err != nil {
		return err
	}
	for i, root := range c.CameraStorage {
		if !filepath.IsAbs(root) {
			return fmt.Errorf("invalid camera_storage[%d] %q: use an absolute path", i, root)
		}
	}

	envNames := make(map[string]string)
	for i, cam := range c.IPCameras {
		if err := cam.validate(); err != nil {
			return fmt.Errorf("invalid ip_camera[%d]: %w", i, err)
		}
		name := envPrefix(cam.ID)
		if other, ok := envNames[name]; ok {
			return fmt.Errorf("invalid ip_camera[%d]: id %q and id %q both map to environment prefix %s: rename one", i, cam.ID, other, name)
		}
		envNames[name] = cam.ID
	}
	return validateLocalCameras(c.LocalCameras)
}

func (cam *IPCamera) validate() error {
	if !validID(cam.ID) {
		return fmt.Errorf("invalid id %q: use letters, digits, '-' and '_'", cam.ID)
	}
	if cam.Model == "" {
		cam.Model = defaultIPModel
	}
	if !validID(cam.Model) {
		return fmt.Errorf("camera %q: invalid model %q: use letters, digits, '-' and '_'", cam.ID, cam.Model)
	}
	addr, err := parseRTSPURL(cam.RTSPURL)
	if err != nil {
		return fmt.Errorf("camera %q: %w", cam.ID, err)
	}
	cam.probeAddr = addr

	if cam.CredentialsFile != "" {
		if err := checkCredentialsFile(cam.CredentialsFile); err != nil {
			return fmt.Errorf("camera %q: %w", cam.ID, err)
		}
	}
	if cam.Resolution != "" && !validResolution(cam.Resolution) {
		return fmt.Errorf("camera %q: invalid resolution %q: use \"<width>x<height>\", such as \"1920x1080\"", cam.ID, cam.Resolution)
	}
	if cam.FPS < 0 {
		return fmt.Errorf("camera %q: invalid fps %d: use a positive number, or 0 to leave it out", cam.ID, cam.FPS)
	}
	return nil
}

// parseRTSPURL checks an rtsp:// URL and returns its host:port for the
// probe. It rejects credentials in the URL so that they never reach a
// task's environment.
func parseRTSPURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("invalid rtsp_url: %w", redactURLError(err))
	}
	if u.Scheme != "rtsp" {
		return "", errors.New("invalid rtsp_url: use the form rtsp://host[:port]/path")
	}
	if u.User != nil {
		return "", errors.New("invalid rtsp_url: it contains credentials: remove them and set credentials_file instead")
	}
	if u.Hostname() == "" {
		return "", errors.New("invalid rtsp_url: missing host: use the form rtsp://host[:port]/path")
	}
	port := u.Port()
	if port == "" {
		port = defaultRTSPPort
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid rtsp_url: invalid port %q", port)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// redactURLError drops the URL from a url.Error, because it may contain
// credentials.
func redactURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

func checkCredentialsFile(path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("invalid credentials_file %q: use an absolute path", path)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("missing credentials_file %q: create it or remove credentials_file: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("invalid credentials_file %q: it is not a regular file", path)
	}
	return nil
}

func validID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

func validResolution(s string) bool {
	w, h, ok := strings.Cut(s, "x")
	if !ok {
		return false
	}
	wn, werr := strconv.Atoi(w)
	hn, herr := strconv.Atoi(h)
	return werr == nil && herr == nil && wn > 0 && hn > 0
}

func parseDuration(field, value string, def time.Duration) (time.Duration, error) {
	if value == "" {
		return def, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s %q: use a positive Go duration such as \"15s\"", field, value)
	}
	return d, nil
}

// envPrefix returns "FERRY_CAMERA_<ID>_" with the id upper-cased and every
// character other than letters and digits replaced by '_'.
func envPrefix(id string) string {
	return "FERRY_CAMERA_" + strings.ToUpper(sanitize(id, '_')) + "_"
}

// sanitize replaces every character other than ASCII letters and digits
// with repl.
func sanitize(s string, repl rune) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return repl
	}, s)
}
