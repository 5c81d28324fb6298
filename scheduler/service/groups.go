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
// group per placement. A camera that has an expanded group in job but no
// placement in plan keeps its group unchanged, so that a gap in the catalog
// never stops running work. It returns the names of those kept groups.
func buildJob(job *api.Job, spec Spec, tmpl *api.TaskGroup, plan placement.Plan) (*api.Job, []string) {
	shell := *job
	shell.TaskGroups = nil
	out := copyJob(&shell)
	if out.Meta == nil {
		out.Meta = make(map[string]string)
	}

	existing := make(map[string]*api.TaskGroup)
	for _, tg := range job.TaskGroups {
		if camera := tg.Meta[GroupMetaCamera]; camera != "" {
			existing[camera] = tg
			continue
		}
		tg = copyGroup(tg)
		if deref(tg.Name) == spec.Template {
			tg.Count = pointer(0)
		}
		out.TaskGroups = append(out.TaskGroups, tg)
	}

	placed := make(map[string]bool)
	var expanded []*api.TaskGroup
	encoded := encodeGroup(tmpl)
	for _, p := range plan.Placements {
		placed[p.CameraID] = true
		expanded = append(expanded, pinnedGroup(encoded, spec, p))
	}
	var kept []string
	for _, camera := range slices.Sorted(maps.Keys(existing)) {
		if placed[camera] {
			continue
		}
		kept = append(kept, deref(existing[camera].Name))
		expanded = append(expanded, copyGroup(existing[camera]))
	}
	// Sorting by name keeps the job, and so its hash, the same when a
	// group moves between placed and kept.
	slices.SortFunc(expanded, func(a, b *api.TaskGroup) int { return strings.Compare(deref(a.Name), deref(b.Name)) })
	out.TaskGroups = append(out.TaskGroups, expanded...)
	return out, kept
}

// pinnedGroup copies the template group for one placement. A required group
// gets a constraint that its node holds the camera, and a preferred group an
// affinity for such nodes. Both get an affinity for the chosen node, and
// their metadata records the choice and its reason.
func pinnedGroup(tmpl []byte, spec Spec, p placement.Placement) *api.TaskGroup {
	tg := decodeGroup(tmpl)
	tg.Name = pointer(GroupName(spec.Template, p.CameraID))
	tg.Count = pointer(1)

	if tg.Meta == nil {
		tg.Meta = make(map[string]string)
	}
	tg.Meta[GroupMetaCamera] = p.CameraID
	tg.Meta[GroupMetaNode] = p.NodeID
	tg.Meta[GroupMetaReason] = string(p.Reason)
	tg.Meta[GroupMetaBytesMoved] = formatBytes(p.BytesMoved)
	if p.Detail != "" {
		tg.Meta[GroupMetaDetail] = p.Detail
	}

	if spec.Locality == placement.LocalityRequired {
		tg.Constraints = append(tg.Constraints, api.NewConstraint(camerasAttribute, "set_contains", p.CameraID))
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
