package service

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// buildJob returns a copy of job with the template group at count 0 and one
// group per placement. An expanded group whose camera has no placement is
// removed when the camera is gone from the catalog, no longer selected or
// has no recordings in the job's time range. Otherwise it is kept
// unchanged, so that a gap in the catalog never stops running work.
func buildJob(job *api.Job, spec Spec, tmpl *api.TaskGroup, sel selection) (*api.Job, []GroupChange, []GroupChange) {
	shell := *job
	shell.TaskGroups = nil
	out := copyJob(&shell)
	// Older expansions stored the plan hash here.
	delete(out.Meta, MetaPlanHash)
	// A version tag belongs to the version it was applied to, such as the
	// one KeepJob tags, and is no part of a new version's spec.
	out.VersionTag = nil

	existing := make(map[string]*api.TaskGroup)
	for _, tg := range job.TaskGroups {
		if camera := tg.Meta[GroupMetaCamera]; camera != "" {
			existing[camera] = tg
			continue
		}
		tg = copyGroup(tg)
		if deref(tg.Name) == spec.Template {
			tg.Count = pointer(0)
			if tg.Meta == nil {
				tg.Meta = make(map[string]string)
			}
			delete(tg.Meta, MetaPlanHash)
		}
		out.TaskGroups = append(out.TaskGroups, tg)
	}

	placed := make(map[string]bool)
	var expanded []*api.TaskGroup
	clean := copyGroup(tmpl)
	delete(clean.Meta, MetaPlanHash)
	encoded := encodeGroup(clean)
	for _, p := range sel.plan.Placements {
		placed[p.CameraID] = true
		expanded = append(expanded, pinnedGroup(encoded, spec, p))
	}
	var kept, removed []GroupChange
	for _, camera := range slices.Sorted(maps.Keys(existing)) {
		if placed[camera] {
			continue
		}
		change, remove := sel.fate(camera)
		change.Group = deref(existing[camera].Name)
		if remove {
			removed = append(removed, change)
			continue
		}
		kept = append(kept, change)
		expanded = append(expanded, copyGroup(existing[camera]))
	}
	// Sorting by name keeps the job, and so its hash, the same when a
	// group moves between placed and kept.
	slices.SortFunc(expanded, func(a, b *api.TaskGroup) int { return strings.Compare(deref(a.Name), deref(b.Name)) })
	out.TaskGroups = append(out.TaskGroups, expanded...)
	return out, kept, removed
}

// fate decides whether the group of a camera without a placement is
// removed, and why.
func (s selection) fate(camera string) (GroupChange, bool) {
	change := GroupChange{Camera: camera}
	for _, u := range s.plan.Unplaced {
		if u.CameraID == camera {
			change.Reason, change.Detail = u.Reason, u.Detail
		}
	}
	switch {
	case change.Reason == ReasonNoRecordingsInRange:
		return change, true
	case s.named != nil && !s.named[camera]:
		// The catalog may not list the camera, but a cameras= clause
		// without it never selects it, whatever the catalog lists later.
		change.Reason = ReasonNotSelected
		change.Detail = fmt.Sprintf("the job's selector names cameras %q, which do not include camera %q", slices.Sorted(maps.Keys(s.named)), camera)
		return change, true
	case s.listed[camera] && !s.selected[camera] && s.noMatch:
		change.Reason = ReasonNotSelected
		change.Detail = "the job's selector matches no camera, so the group stays until the selector is fixed"
	case s.listed[camera] && !s.selected[camera]:
		change.Reason = ReasonNotSelected
		change.Detail = fmt.Sprintf("the job's selector no longer selects camera %q", camera)
		return change, true
	case !s.listed[camera] && s.absence.Gone(camera):
		change.Reason = ReasonGone
		change.Detail = fmt.Sprintf("the catalog has not listed camera %q for %s or longer", camera, s.absence.Grace)
		return change, true
	case !s.listed[camera] && s.absence.Grace > 0:
		change.Reason = ReasonMissing
		change.Detail = fmt.Sprintf("the catalog does not list camera %q; its group stays until the catalog has missed it for %s", camera, s.absence.Grace)
	case !s.listed[camera]:
		change.Reason = ReasonMissing
		change.Detail = fmt.Sprintf("the catalog does not list camera %q; its group stays as registered", camera)
	}
	return change, false
}

// pinnedGroup copies the template group for one placement. A required group
// gets constraints that its node holds the camera and is the chosen node,
// so that Nomad runs it only where the plan puts it. The service
// moves it when that node leaves or loses the data. A preferred group gets
// an affinity for holders instead. Both get an affinity for the chosen
// node, and their metadata records the choice and its reason.
//
// NOTE: Nomad may run a preferred group on another node than the chosen
// one, such as when its job anti-affinity outweighs the node affinity
// during an update, and the service then still plans with the chosen node.
func pinnedGroup(tmpl []byte, spec Spec, p placement.Placement) *api.TaskGroup {
	tg := decodeGroup(tmpl)
	tg.Name = pointer(GroupName(spec.Template, p.CameraID))
	tg.Count = pointer(1)

	if tg.Meta == nil {
		tg.Meta = make(map[string]string)
	}
	reason, detail := p.Reason, p.Detail
	if reason == placement.ReasonQueued {
		// Waiting for room is reported in Status only. Recorded in the
		// group, it would change the group's spec when room frees up, and
		// Nomad would replace the group's running allocation.
		reason, detail = placement.ReasonLocal, ""
	}
	tg.Meta[GroupMetaCamera] = p.CameraID
	tg.Meta[GroupMetaNode] = p.NodeID
	tg.Meta[GroupMetaReason] = string(reason)
	tg.Meta[GroupMetaBytesMoved] = formatBytes(p.BytesMoved)
	if detail != "" {
		tg.Meta[GroupMetaDetail] = detail
	}

	if spec.Locality == placement.LocalityRequired {
		tg.Constraints = append(tg.Constraints,
			api.NewConstraint(camerasAttribute, "set_contains", p.CameraID),
			api.NewConstraint(nodeNameAttribute, "=", p.NodeID))
	} else {
		tg.Affinities = append(tg.Affinities, api.NewAffinity(camerasAttribute, "set_contains", p.CameraID, cameraAffinityWeight))
	}
	tg.Affinities = append(tg.Affinities, api.NewAffinity(nodeNameAttribute, "=", p.NodeID, nodeAffinityWeight))
	return tg
}

// IsExpandedGroup reports whether the service made tg for a camera.
func IsExpandedGroup(tg *api.TaskGroup) bool {
	return tg.Meta[GroupMetaCamera] != ""
}

func copyGroup(tg *api.TaskGroup) *api.TaskGroup {
	return decodeGroup(encodeGroup(tg))
}

// encodeGroup and decodeGroup copy groups through JSON, so that a copy
// shares no pointers with the job it came from.
func encodeGroup(tg *api.TaskGroup) []byte {
	data, err := json.Marshal(tg)
	if err != nil {
		panic(fmt.Sprintf("encode task group: %v", err))
	}
	return data
}

func decodeGroup(data []byte) *api.TaskGroup {
	var tg api.TaskGroup
	if err := json.Unmarshal(data, &tg); err != nil {
		panic(fmt.Sprintf("decode task group: %v", err))
	}
	return &tg
}

func pointer[T any](v T) *T { return &v }
