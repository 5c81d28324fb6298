package placement

import (
	"cmp"
	"fmt"
	"slices"
)

// Selector picks cameras. A camera matches when its site is one of Sites
// (any site when Sites is empty) and it carries every tag in Tags.
type Selector struct {
	Sites []string
	Tags  []string
}

// Matches reports whether the selector picks camera c.
func (s Selector) Matches(c Camera) bool {
	return s.matches(c)
}

func (s Selector) matches(c Camera) bool {
	if len(s.Sites) > 0 && !slices.Contains(s.Sites, c.Site) {
		return false
	}
	for _, t := range s.Tags {
		if !slices.Contains(c.Tags, t) {
			return false
		}
	}
	return true
}

// GroupTemplate describes the groups that ExpandGroups makes for each
// selected camera.
type GroupTemplate struct {
	// Name prefixes every group ID: "name/camera" per camera, or
	// "name/camera/start" per recording, with start in RFC 3339 UTC.
	Name     string
	CPUMHz   int64
	MemoryMB int64
	Locality Locality
	// PerRecording makes one group per recording of the camera instead of
	// one per camera.
	PerRecording bool
	// Range, when set, limits the groups to recordings overlapping it.
	Range TimeRange
}

// ExpandGroups makes the groups of t for every camera that sel matches. Per
// recording, it makes one group per distinct recording range in holdings,
// healthy or not, in time order. It returns an error when the template is
// invalid or when sel matches no camera, since a job over no camera is
// almost always a mistyped tag or site.
func ExpandGroups(cameras []Camera, holdings []Holding, sel Selector, t GroupTemplate) ([]Group, error) {
	if t.Name == "" {
		return nil, fmt.Errorf("%w: group template name is empty; name the job", ErrInvalidInput)
	}
	if !t.Range.IsZero() {
		if err := t.Range.Validate(); err != nil {
			return nil, fmt.Errorf("%w: group template %q: %w", ErrInvalidInput, t.Name, err)
		}
	}
	var selected []Camera
	for _, c := range cameras {
		if sel.matches(c) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("%w: group template %q: selector with sites %q and tags %q matches none of %d cameras; check them against the catalog",
			ErrInvalidInput, t.Name, sel.Sites, sel.Tags, len(cameras))
	}

	var ranges map[string][]TimeRange
	if t.PerRecording {
		ranges = recordingRanges(holdings)
	}
	var groups []Group
	for _, c := range selected {
		g := Group{CameraID: c.ID, Range: t.Range, CPUMHz: t.CPUMHz, MemoryMB: t.MemoryMB, Locality: t.Locality}
		if !t.PerRecording {
			g.ID = t.Name + "/" + c.ID
			groups = append(groups, g)
			continue
		}
		for _, r := range ranges[c.ID] {
			if r.IsZero() || !r.overlaps(t.Range) {
				continue
			}
			g.ID = t.Name + "/" + c.ID + "/" + r.Start.UTC().Format("2006-01-02T15:04:05Z")
			g.Range = r
			groups = append(groups, g)
		}
	}
	return groups, nil
}

// recordingRanges returns each camera's distinct recording ranges in time
// order.
func recordingRanges(holdings []Holding) map[string][]TimeRange {
	seen := make(map[string]map[rangeKey]bool)
	out := make(map[string][]TimeRange)
	for _, h := range holdings {
		if seen[h.CameraID] == nil {
			seen[h.CameraID] = make(map[rangeKey]bool)
		}
		k := keyOf(h.Range)
		if seen[h.CameraID][k] {
			continue
		}
		seen[h.CameraID][k] = true
		out[h.CameraID] = append(out[h.CameraID], h.Range)
	}
	for _, rs := range out {
		slices.SortFunc(rs, func(a, b TimeRange) int { return cmp.Compare(a.Start.UnixNano(), b.Start.UnixNano()) })
	}
	return out
}
