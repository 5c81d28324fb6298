package camera

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"

	"github.com/ferry-video/ferry/plugins"
)

// Device group attribute names, read in jobs as ${device.attr.<name>}.
const (
	attrLocation   = "location"
	attrResolution = "resolution"
	attrFPS        = "fps"
	attrCodec      = "codec"
	attrRecordings = "recordings"
	attrSource     = "source"
)

// buildGroups puts cameras with the same model and attributes in one group
// named after the model. When one model has cameras with different
// attributes, each of its groups is named "<model>-<hash>", where hash is
// the first 8 hex digits of the SHA-256 of the attributes, so jobs should
// request "ferry/camera" and constrain the attributes.
func buildGroups(s *scan) []*plugins.DeviceGroup {
	byKey := map[string]*plugins.DeviceGroup{}
	keysByModel := map[string][]string{}
	add := func(model string, attrs map[string]plugins.Attribute, dev *plugins.DetectedDevice) {
		key := model + "\x00" + attributesKey(attrs)
		g, ok := byKey[key]
		if !ok {
			g = &plugins.DeviceGroup{Vendor: vendor, Type: deviceType, Name: model, Attributes: attrs}
			byKey[key] = g
			keysByModel[model] = append(keysByModel[model], key)
		}
		g.Devices = append(g.Devices, dev)
	}

	for _, cam := range s.local {
		h := s.localHealth[cam.ID]
		attrs := localAttributes(s.config, declaredFor(s.config, cam), s.formats[cam.ID], s.recordings[cam.ID])
		add(cam.Model, attrs, &plugins.DetectedDevice{ID: cam.ID, Healthy: h.Healthy, HealthDescription: h.Description, PCIBusID: cam.PCIBusID})
	}
	for _, cam := range s.config.IPCameras {
		h, ok := s.probes[cam.ID]
		if !ok {
			h = probeResult{Description: "not probed yet"}
		}
		attrs := cameraAttributes(cam.Location, cam.Resolution, cam.FPS, cam.Codec, s.recordings[cam.ID], "rtsp")
		add(cam.Model, attrs, &plugins.DetectedDevice{ID: cam.ID, Healthy: h.Healthy, HealthDescription: h.Description})
	}

	groups := make([]*plugins.DeviceGroup, 0, len(byKey))
	for model, keys := range keysByModel {
		for _, key := range keys {
			g := byKey[key]
			if len(keys) > 1 {
				sum := sha256.Sum256([]byte(key))
				g.Name = model + "-" + hex.EncodeToString(sum[:4])
			}
			sort.Slice(g.Devices, func(i, j int) bool { return g.Devices[i].ID < g.Devices[j].ID })
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	return groups
}

// cameraAttributes leaves out the attributes that are unknown (empty or 0).
func cameraAttributes(location, resolution string, fps int64, codec string, recordings bool, source string) map[string]plugins.Attribute {
	attrs := map[string]plugins.Attribute{
		attrRecordings: plugins.BoolAttribute(recordings),
		attrSource:     plugins.StringAttribute(source),
	}
	if location != "" {
		attrs[attrLocation] = plugins.StringAttribute(location)
	}
	if resolution != "" {
		attrs[attrResolution] = plugins.StringAttribute(resolution)
	}
	if fps > 0 {
		attrs[attrFPS] = plugins.IntAttribute(fps, "")
	}
	if codec != "" {
		attrs[attrCodec] = plugins.StringAttribute(codec)
	}
	return attrs
}

// attributesKey is a canonical text form of attrs.
func attributesKey(attrs map[string]plugins.Attribute) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		a := attrs[k]
		b.WriteString(k + "=" + strconv.Itoa(int(a.Kind)) + ":" + a.String + ":" + strconv.FormatInt(a.Int, 10) + ":" + strconv.FormatBool(a.Bool) + "\x00")
	}
	return b.String()
}
