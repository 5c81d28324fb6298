package registrar

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/scheduler/catalog"
)

// TagPrefix starts each camera tag on the storage service.
const TagPrefix = catalog.TagPrefix

// Publication is everything the registrar publishes for one node.
type Publication struct {
	ServiceID   string            `json:"service_id"`
	ServiceName string            `json:"service_name"`
	Tags        []string          `json:"tags"`
	Meta        map[string]string `json:"meta"`
	// Details are the per-camera documents, by KV key.
	Details map[string]CameraDetail `json:"details"`
	// Healthy is false when a storage root could not be read.
	// HealthOutput names each unreadable root and camera folder.
	Healthy      bool   `json:"healthy"`
	HealthOutput string `json:"health_output"`
	// Unreadable are the camera folders left out because they could not
	// be read, with the error, by camera id as found on disk.
	Unreadable map[string]string `json:"unreadable_cameras,omitempty"`

	// rawKV is the encoded KV documents as Consul holds them; only the
	// publisher's record of Consul's state sets it.
	rawKV map[string][]byte
}

// CameraDetail is the KV document of one camera held by one node.
type CameraDetail struct {
	// Camera is the camera id as found on disk or in the config.
	Camera string `json:"camera"`
	// ID is Camera sanitised for Consul tags and Nomad metadata.
	ID         string     `json:"id"`
	Node       string     `json:"node"`
	Site       string     `json:"site"`
	Bytes      int64      `json:"bytes"`
	Recordings int        `json:"recordings"`
	First      *time.Time `json:"first_recording,omitempty"`
	Last       *time.Time `json:"last_recording,omitempty"`
	// Formats are the recordings' container formats (avi, mp4, ...), read
	// from file signatures; the codec inside is not probed.
	Formats []string `json:"formats,omitempty"`
	// BitrateBPS is an estimate in bit/s: Bytes over the time between the
	// first and last recording. Zero when that time is under a minute.
	BitrateBPS int64 `json:"bitrate_bps,omitempty"`
	// Tags are the camera's tags from the tags files in its folders, which
	// a job's "tag=" selector matches.
	Tags []string `json:"tags,omitempty"`
	// Replica is true when every folder of the camera on this node is
	// under a replica root.
	Replica   bool   `json:"replica"`
	StreamURL string `json:"stream_url,omitempty"`
}

// unsafeChars matches what a sanitised camera id may not contain.
var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// SanitizeID maps a camera id to one that Consul tags, KV keys and Nomad
// metadata can contain, as catalog.SanitizeID does.
func SanitizeID(id string) string {
	return catalog.SanitizeID(id)
}

// NOTE: a camera whose recorder is writing changes its bytes and last
// recording time between scans, so its KV document is rewritten every
// period while the recorder runs.

// Build computes the publication from one scan. It is a pure function of
// its input: spans come from inventory.Spans, tags are each camera's tags
// by camera id as found on disk, and scanErr is Rescan's error. Hidden
// folders, lost+found, folders without recordings and unreadable camera
// folders are not published, and only an unreadable root makes the node
// unhealthy.
func Build(cfg *Config, snap inventory.Snapshot, spans map[string]inventory.Span, tags map[string][]string, scanErr error) Publication {
	roots := append(slices.Clone(cfg.Roots), cfg.ReplicaRoots...)
	problems := splitScanError(scanErr, roots, snap)
	pub := Publication{
		ServiceID:    cfg.ServiceID(),
		ServiceName:  cfg.ServiceName,
		Details:      make(map[string]CameraDetail),
		Healthy:      problems.roots == nil,
		HealthOutput: healthOutput(problems),
	}
	if len(problems.cameras) > 0 {
		pub.Unreadable = problems.cameras
	}

	for _, cam := range snap.Cameras {
		if ok, _ := publishable(cam, problems.cameras); !ok {
			continue
		}
		detail := cfg.detail(cam.ID)
		detail.Bytes = cam.Bytes
		detail.Recordings = cam.Recordings
		detail.Replica = cfg.allReplica(cam.Dirs)
		detail.addSpan(spans[cam.ID])
		detail.Tags = tags[cam.ID]
		pub.Details[cfg.NodePrefix()+detail.ID] = detail
	}
	for _, stream := range cfg.Streams {
		key := cfg.NodePrefix() + SanitizeID(stream.Camera)
		detail, ok := pub.Details[key]
		if !ok {
			detail = cfg.detail(stream.Camera)
		}
		detail.StreamURL = redactURL(stream.URL)
		pub.Details[key] = detail
	}

	for _, detail := range pub.Details {
		pub.Tags = append(pub.Tags, TagPrefix+detail.ID)
	}
	sort.Strings(pub.Tags)
	pub.Meta = map[string]string{
		"site":    cfg.Site,
		"node":    cfg.Node,
		"cameras": strconv.Itoa(len(pub.Tags)),
	}
	return pub
}

func (c *Config) detail(camera string) CameraDetail {
	return CameraDetail{Camera: camera, ID: SanitizeID(camera), Node: c.Node, Site: c.Site}
}

func (c *Config) allReplica(dirs []string) bool {
	if len(dirs) == 0 {
		return false
	}
	for _, dir := range dirs {
		if !slices.Contains(cleanAll(c.ReplicaRoots), filepath.Dir(filepath.Clean(dir))) {
			return false
		}
	}
	return true
}

func cleanAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Clean(p)
	}
	return out
}

func (d *CameraDetail) addSpan(span inventory.Span) {
	if span.First.IsZero() {
		return
	}
	first, last := span.First.UTC(), span.Last.UTC()
	d.First, d.Last = &first, &last
	d.Formats = span.Formats
	if seconds := last.Sub(first).Seconds(); seconds >= 60 {
		d.BitrateBPS = int64(float64(d.Bytes) * 8 / seconds)
	}
}

// Encode returns the KV value of a camera document.
func (d CameraDetail) Encode() []byte {
	data, err := json.Marshal(d)
	if err != nil {
		// CameraDetail holds only strings, numbers, times and a bool.
		panic(fmt.Sprintf("encode camera detail %q: %v", d.Camera, err))
	}
	return data
}

// Cameras returns the sanitised camera ids of the tags, sorted.
func (p Publication) Cameras() []string {
	ids := make([]string, 0, len(p.Tags))
	for _, tag := range p.Tags {
		if id, ok := strings.CutPrefix(tag, TagPrefix); ok {
			ids = append(ids, id)
		}
	}
	return ids
}
