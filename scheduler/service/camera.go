package service

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
)

// ReasonNoRecordingsInRange is the reason a camera gets no group when the
// job's ferry.time_range is set and no holder has recordings of the camera
// in that range.
const ReasonNoRecordingsInRange placement.Reason = "no_recordings_in_range"

// ReasonDetailMissing is the reason a camera gets no new group while the
// job's ferry.time_range is set and every holder of the camera that could
// be in the range has no KV document yet, so its span is unknown. The
// registrar writes the documents before its service tags, so this lasts
// until the scheduler's next read. An existing group is kept as registered.
const ReasonDetailMissing placement.Reason = "detail_missing"

// ReasonNotSelected is the reason a group is removed when its camera is in
// the catalog but the job's selector no longer picks it.
const ReasonNotSelected placement.Reason = "not_selected"

// ReasonMissing is the reason a group is kept without a placement while
// the catalog does not list its camera, for less than Absence.Grace.
const ReasonMissing placement.Reason = "camera_missing"

// ReasonGone is the reason a camera's group is removed: successful catalog
// reads have not listed the camera for Absence.Grace.
const ReasonGone placement.Reason = "camera_gone"

// Catalog is the storage that the catalog lists, as one reconcile pass
// reads it.
type Catalog struct {
	Holdings catalog.Holdings
	// Details are the registrar's per-camera documents, by node name, then
	// camera id. A missing document counts as 0 bytes, an unknown time
	// span and no tags.
	Details map[string]map[string]CameraDetail
	// Absence records when the catalog last listed each camera. Its zero
	// value treats no camera as gone.
	Absence Absence
	// Settling is true while the catalog settles after a failed read or a
	// Consul restart, when it carries nodes and documents from the last
	// accepted catalog.
	Settling bool
}

// CameraDetail is the part of a registrar's per-camera KV document that
// the scheduler reads.
type CameraDetail struct {
	Bytes      int64      `json:"bytes"`
	Recordings int        `json:"recordings"`
	First      *time.Time `json:"first_recording,omitempty"`
	Last       *time.Time `json:"last_recording,omitempty"`
	Tags       []string   `json:"tags,omitempty"`
	// Replica is true when the node holds the camera only under replica
	// roots, as copies of another node's recordings.
	Replica bool `json:"replica,omitempty"`
}

// overlaps reports whether the node's recordings of the camera may fall in
// r. A camera with no recordings overlaps no range.
//
// NOTE: the registrar takes First and Last from file modification times,
// so First is near the end of the oldest recording, and a range that
// covers only the start of that recording does not count its holder.
func (d CameraDetail) overlaps(r placement.TimeRange) bool {
	if d.Recordings == 0 || d.First == nil || d.Last == nil {
		return false
	}
	return d.First.Before(r.End) && !d.Last.Before(r.Start)
}

func (d CameraDetail) span() string {
	if d.Recordings == 0 || d.First == nil || d.Last == nil {
		return "no recordings"
	}
	const layout = "2006-01-02T15:04:05Z07:00"
	return fmt.Sprintf("recordings from %s to %s", d.First.UTC().Format(layout), d.Last.UTC().Format(layout))
}

// Absence records when accepted catalog reads last listed each camera, so
// that a camera's groups are removed only after successful reads stopped
// listing it for Grace. Failed reads and ignored empty reads do not move
// its times.
type Absence struct {
	// Grace is how long successful reads must miss a camera before its
	// groups are removed. Zero removes nothing.
	Grace time.Duration
	// FirstRead is when the first catalog was accepted. A camera that no
	// read has listed since counts as last listed then.
	FirstRead time.Time
	// LastRead is when the catalog being planned with was accepted.
	LastRead time.Time
	// Listed is when an accepted read last listed each camera.
	Listed map[string]time.Time
}

// Gone reports whether accepted reads have missed camera for Grace or
// longer.
func (a Absence) Gone(camera string) bool {
	if a.Grace <= 0 || a.FirstRead.IsZero() {
		return false
	}
	since := a.FirstRead
	if listed, ok := a.Listed[camera]; ok && listed.After(since) {
		since = listed
	}
	return a.LastRead.Sub(since) >= a.Grace
}

// record notes an accepted read at now that lists holdings' cameras.
func (a *Absence) record(holdings catalog.Holdings, now time.Time) {
	if a.FirstRead.IsZero() {
		a.FirstRead = now
	}
	a.LastRead = now
	if a.Listed == nil {
		a.Listed = make(map[string]time.Time)
	}
	for _, h := range holdings {
		for _, camera := range h.Cameras {
			a.Listed[camera] = now
		}
	}
}

func (a Absence) clone() Absence {
	a.Listed = maps.Clone(a.Listed)
	return a
}

// cameraSet is the catalog turned into placement input for one job.
type cameraSet struct {
	cameras  []placement.Camera
	holdings []placement.Holding
	// outOfRange holds, for each camera whose every holder was left out
	// because its recordings miss the job's time range, what the holders
	// have instead.
	outOfRange map[string]string
	// detailMissing holds, for each camera whose every holder was left out
	// and at least one of them because it has no KV document, which
	// holders lack one.
	detailMissing map[string]string
}

// camerasOf lists every camera in the catalog with one holding per node
// and camera. A camera's site is that of its first holder by node name,
// and its tags are the union of its holders' tags files. With a non-zero
// rng, a holder whose recordings of the camera miss rng is left out, and so
// is a holder without a KV document, because its span is not known yet.
func camerasOf(cat Catalog, rng placement.TimeRange) cameraSet {
	index := make(map[string]int)
	var set cameraSet
	excluded := make(map[string][]string)
	undocumented := make(map[string][]string)
	for _, node := range slices.Sorted(maps.Keys(cat.Holdings)) {
		h := cat.Holdings[node]
		for _, id := range h.Cameras {
			i, ok := index[id]
			if !ok {
				i = len(set.cameras)
				index[id] = i
				set.cameras = append(set.cameras, placement.Camera{ID: id, Site: h.Site})
			}
			detail, known := cat.Details[node][id]
			for _, tag := range detail.Tags {
				if !slices.Contains(set.cameras[i].Tags, tag) {
					set.cameras[i].Tags = append(set.cameras[i].Tags, tag)
				}
			}
			if !known && !rng.IsZero() {
				undocumented[id] = append(undocumented[id], node)
				continue
			}
			if known && !rng.IsZero() && !detail.overlaps(rng) {
				excluded[id] = append(excluded[id], fmt.Sprintf("%s has %s", node, detail.span()))
				continue
			}
			set.holdings = append(set.holdings, placement.Holding{CameraID: id, NodeID: node, Bytes: detail.Bytes, Replica: detail.Replica})
		}
	}
	slices.SortFunc(set.cameras, func(a, b placement.Camera) int { return strings.Compare(a.ID, b.ID) })

	held := make(map[string]bool)
	for _, h := range set.holdings {
		held[h.CameraID] = true
	}
	set.outOfRange = make(map[string]string)
	for id, holders := range excluded {
		if !held[id] && len(undocumented[id]) == 0 {
			set.outOfRange[id] = fmt.Sprintf("no holder has recordings of camera %q in %s: %s", id, rng, strings.Join(holders, "; "))
		}
	}
	set.detailMissing = make(map[string]string)
	for id, nodes := range undocumented {
		if !held[id] {
			set.detailMissing[id] = fmt.Sprintf("%s %s no KV document for camera %q yet, so whether its recordings overlap %s is not known; the camera gets a group once the registrar writes it",
				strings.Join(nodes, ", "), hasOrHave(len(nodes)), id, rng)
		}
	}
	return set
}

func hasOrHave(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}
