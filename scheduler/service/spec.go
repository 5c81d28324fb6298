package service

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// Job metadata keys that mark and configure a template job.
const (
	// MetaSelector picks the cameras: "cameras=a,b", "site=s1" or
	// "tag=downtown". Clauses join with ';', and a camera must match all.
	MetaSelector = "ferry.selector"
	// MetaTemplate names the task group that is copied once per camera.
	MetaTemplate = "ferry.template"
	// MetaTimeRange limits the groups to recordings in "start/end", both
	// RFC 3339.
	MetaTimeRange = "ferry.time_range"
	// MetaLocality is "required" or "preferred" (the default).
	MetaLocality = "ferry.locality"
	// MetaPlanHash is the hash of the last registered expanded job,
	// taken without this key. It sits in the template group's metadata,
	// because a change of job metadata makes Nomad replace the
	// allocations of every group, and the template group has none. The service registers again only when the
	// hash of a new expansion differs from it.
	MetaPlanHash = "ferry.plan_hash"
)

// Task group metadata keys that the service writes on each expanded group.
const (
	GroupMetaCamera     = "ferry.camera"
	GroupMetaNode       = "ferry.node"
	GroupMetaReason     = "ferry.reason"
	GroupMetaDetail     = "ferry.reason_detail"
	GroupMetaBytesMoved = "ferry.bytes_moved"
)

// Spec is a template job's ferry configuration, read from its metadata.
type Spec struct {
	JobID    string
	Template string
	// Cameras is the explicit camera list of a "cameras=" clause, or nil.
	Cameras  []string
	Selector placement.Selector
	Range    placement.TimeRange
	Locality placement.Locality
}

// IsTemplateJob reports whether the job carries a ferry selector.
func IsTemplateJob(job *api.Job) bool {
	_, ok := job.Meta[MetaSelector]
	return ok
}

// ParseSpec reads the ferry metadata of a job. Every error names the key
// and value that are wrong.
func ParseSpec(job *api.Job) (Spec, error) {
	spec := Spec{JobID: deref(job.ID), Locality: placement.LocalityPreferred}
	meta := job.Meta

	spec.Template = strings.TrimSpace(meta[MetaTemplate])
	if spec.Template == "" {
		return Spec{}, fmt.Errorf("job %q: meta %q is missing; set it to the name of the task group to copy per camera", spec.JobID, MetaTemplate)
	}
	if err := parseSelector(meta[MetaSelector], &spec); err != nil {
		return Spec{}, fmt.Errorf("job %q: meta %s: %w", spec.JobID, MetaSelector, err)
	}

	if raw := strings.TrimSpace(meta[MetaTimeRange]); raw != "" {
		r, err := parseTimeRange(raw)
		if err != nil {
			return Spec{}, fmt.Errorf("job %q: meta %s = %q: %w", spec.JobID, MetaTimeRange, raw, err)
		}
		spec.Range = r
	}

	switch l := placement.Locality(strings.TrimSpace(meta[MetaLocality])); l {
	case "":
	case placement.LocalityRequired, placement.LocalityPreferred:
		spec.Locality = l
	default:
		return Spec{}, fmt.Errorf("job %q: meta %s = %q is unknown; use %q or %q",
			spec.JobID, MetaLocality, l, placement.LocalityRequired, placement.LocalityPreferred)
	}
	return spec, nil
}

func parseSelector(raw string, spec *Spec) error {
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("selector is empty; use cameras=a,b or site=s1 or tag=t")
	}
	seen := make(map[string]string)
	for _, clause := range strings.Split(raw, ";") {
		key, value, ok := strings.Cut(strings.TrimSpace(clause), "=")
		key = strings.TrimSpace(key)
		values := splitList(value)
		if !ok || len(values) == 0 {
			return fmt.Errorf("clause %q is not key=value; use cameras=a,b or site=s1 or tag=t", clause)
		}
		if err := checkRepeat(seen, key, clause); err != nil {
			return err
		}
		switch key {
		case "cameras", "camera":
			if err := checkCameraIDs(values); err != nil {
				return fmt.Errorf("clause %q: %w", clause, err)
			}
			spec.Cameras = append(spec.Cameras, values...)
		case "site":
			spec.Selector.Sites = append(spec.Selector.Sites, values...)
		case "tag":
			spec.Selector.Tags = append(spec.Selector.Tags, values...)
		default:
			return fmt.Errorf("clause %q: key %q is unknown; use cameras, site or tag", clause, key)
		}
	}
	slices.Sort(spec.Cameras)
	spec.Cameras = slices.Compact(spec.Cameras)
	return nil
}

// checkRepeat rejects a second site or cameras clause. Every clause must
// match, and a camera has one site and one id, so two such clauses could
// only match when they name the same value: several sites or cameras go
// in one clause, which matches any of them.
func checkRepeat(seen map[string]string, key, clause string) error {
	if key == "camera" {
		key = "cameras"
	}
	if key != "site" && key != "cameras" {
		return nil
	}
	if first, ok := seen[key]; ok {
		return fmt.Errorf("clause %q repeats %s= after clause %q, and every clause must match: list the values in one clause, such as %s=a,b, which matches any of them",
			strings.TrimSpace(clause), key, first, key)
	}
	seen[key] = strings.TrimSpace(clause)
	return nil
}

// checkCameraIDs rejects ids that the registrar would have published under
// a sanitised id, naming the id to use.
func checkCameraIDs(ids []string) error {
	for _, id := range ids {
		if !catalog.IsSafeID(id) {
			return fmt.Errorf("camera id %q has characters that Consul tags and Nomad metadata cannot contain, so the registrar publishes it as %q; select it by that id", id, catalog.SanitizeID(id))
		}
	}
	return nil
}

func splitList(value string) []string {
	var out []string
	for _, v := range strings.Split(value, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func parseTimeRange(raw string) (placement.TimeRange, error) {
	startText, endText, ok := strings.Cut(raw, "/")
	if !ok {
		return placement.TimeRange{}, fmt.Errorf("%q is not start/end; give two RFC 3339 times joined by '/'", raw)
	}
	start, err := time.Parse(time.RFC3339, strings.TrimSpace(startText))
	if err != nil {
		return placement.TimeRange{}, fmt.Errorf("start %q is not RFC 3339: %w", startText, err)
	}
	end, err := time.Parse(time.RFC3339, strings.TrimSpace(endText))
	if err != nil {
		return placement.TimeRange{}, fmt.Errorf("end %q is not RFC 3339: %w", endText, err)
	}
	r := placement.TimeRange{Start: start, End: end}
	if err := r.Validate(); err != nil {
		return placement.TimeRange{}, err
	}
	return r, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
