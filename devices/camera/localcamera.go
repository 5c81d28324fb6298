package camera

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/hclspec"
)

// LocalCamera is one `local_camera { ... }` block, which declares
// attributes of a V4L2 camera. Declared values win over what the device
// reports.
type LocalCamera struct {
	// Match is the camera's id, such as "v4l-1_2_1_0-0", or its bus path
	// under /sys/devices. Required and unique.
	Match string `codec:"match"`
	// Location overrides the plugin's location for this camera.
	Location string `codec:"location"`
	// Resolution is "<width>x<height>", such as "1280x720".
	Resolution string `codec:"resolution"`
	// FPS is frames per second. Unset leaves the device's value.
	FPS   *int64 `codec:"fps"`
	Codec string `codec:"codec"`
}

var localCameraSpec = hclspec.BlockList("local_camera", hclspec.Object(map[string]*hclspec.Spec{
	"match":      hclspec.RequiredAttr("match", "string"),
	"location":   hclspec.Attr("location", "string"),
	"resolution": hclspec.Attr("resolution", "string"),
	"fps":        hclspec.Attr("fps", "number"),
	"codec":      hclspec.Attr("codec", "string"),
}))

func validateLocalCameras(cams []*LocalCamera) error {
	seen := make(map[string]bool, len(cams))
	for i, cam := range cams {
		if err := cam.validate(); err != nil {
			return fmt.Errorf("invalid local_camera[%d]: %w", i, err)
		}
		if seen[cam.Match] {
			return fmt.Errorf("invalid local_camera[%d]: match %q is in another local_camera block: merge the two blocks", i, cam.Match)
		}
		seen[cam.Match] = true
	}
	return nil
}

func (cam *LocalCamera) validate() error {
	if cam.Match == "" {
		return fmt.Errorf("missing match: set a camera id such as \"v4l-1_2_1_0-0\" or a bus path under /sys/devices")
	}
	if cam.Resolution != "" && !validResolution(cam.Resolution) {
		return fmt.Errorf("camera %q: invalid resolution %q: use \"<width>x<height>\", such as \"1280x720\"", cam.Match, cam.Resolution)
	}
	if cam.FPS != nil && *cam.FPS <= 0 {
		return fmt.Errorf("camera %q: invalid fps %d: use a positive number, or remove fps to keep the device's value", cam.Match, *cam.FPS)
	}
	return nil
}

// matches reports whether the block names cam by id or bus path.
func (cam *LocalCamera) matches(local localCamera) bool {
	return cam.Match == local.ID || cam.Match == local.BusPath
}

// declaredFor returns the first block that matches cam, or nil.
func declaredFor(cfg *Config, cam localCamera) *LocalCamera {
	for _, decl := range cfg.LocalCameras {
		if decl.matches(cam) {
			return decl
		}
	}
	return nil
}

// unmatchedLocalCameras returns the match values of the blocks that match
// none of cams, in config order.
func unmatchedLocalCameras(cfg *Config, cams []localCamera) []string {
	var unmatched []string
	for _, decl := range cfg.LocalCameras {
		found := false
		for _, cam := range cams {
			if decl.matches(cam) {
				found = true
				break
			}
		}
		if !found {
			unmatched = append(unmatched, decl.Match)
		}
	}
	return unmatched
}

// localAttributes merges, in order of precedence, the declared block, the
// reported format and the plugin's location.
func localAttributes(cfg *Config, decl *LocalCamera, reported reportedFormat, recordings bool) map[string]plugins.Attribute {
	location, resolution, fps, codec := cfg.Location, reported.Resolution, reported.FPS, reported.Codec
	if decl != nil {
		if decl.Location != "" {
			location = decl.Location
		}
		if decl.Resolution != "" {
			resolution = decl.Resolution
		}
		if decl.FPS != nil {
			fps = *decl.FPS
		}
		if decl.Codec != "" {
			codec = decl.Codec
		}
	}
	return cameraAttributes(location, resolution, fps, codec, recordings, "v4l2")
}

// readFormats reads each camera's capture format through V4L2 ioctls. A failed ioctl
// leaves the matching attribute out and is logged at debug level, because
// devices without G_FMT or G_PARM support are common.
func readFormats(logger hclog.Logger, q formatQuerier, cams []localCamera) map[string]reportedFormat {
	formats := make(map[string]reportedFormat, len(cams))
	for _, cam := range cams {
		var f reportedFormat
		if pix, err := q.CaptureFormat(cam.Node); err != nil {
			logger.Debug("capture format not read", "camera_id", cam.ID, "error", err)
		} else {
			f.Resolution, f.Codec = resolutionOf(pix), codecName(pix.PixelFormat)
		}
		if tpf, err := q.TimePerFrame(cam.Node); err != nil {
			logger.Debug("frame rate not read", "camera_id", cam.ID, "error", err)
		} else {
			f.FPS = framesPerSecond(tpf)
		}
		formats[cam.ID] = f
	}
	return formats
}

// reportUnmatched logs each unmatched local_camera block once per config.
func (p *Plugin) reportUnmatched(cfg *Config, unmatched []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.config != cfg {
		return
	}
	for _, match := range unmatched {
		if p.reportedUnmatched[match] {
			continue
		}
		p.reportedUnmatched[match] = true
		p.logger.Warn("local_camera block matches no camera: check its match against the camera ids and bus paths", "match", match)
	}
}
