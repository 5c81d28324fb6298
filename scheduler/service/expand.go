package service

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// Nomad attributes that expanded groups are pinned with.
const (
	camerasAttribute  = "${meta.ferry.cameras}"
	nodeNameAttribute = "${node.unique.name}"
)

// Affinity weights. The camera affinity of a preferred group outweighs the
// node affinity, so Nomad keeps a group on some holder before it keeps it on
// the chosen node.
const (
	cameraAffinityWeight int8 = 100
	nodeAffinityWeight   int8 = 50
)

// Result is the expansion of one template job.
type Result struct {
	Spec Spec
	// Job is the expanded job, ready to register.
	Job  *api.Job
	Plan placement.Plan
	// Hash is the plan hash of Job, stored in the metadata of its template
	// group under MetaPlanHash.
	Hash string
	// Changed is false when the job in Nomad already carries Hash.
	Changed bool
	// Kept are the groups left as they were because their camera has no
	// placement in this plan, such as a camera briefly missing from the
	// catalog.
	Kept []GroupChange
	// Removed are the groups the expansion leaves out: their camera is
	// gone from the catalog, no longer selected, or has no recordings in
	// the job's time range.
	Removed []GroupChange
}

// GroupChange is an expanded group that a plan keeps without a placement,
// or removes, with the reason.
type GroupChange struct {
	Group  string           `json:"group"`
	Camera string           `json:"camera"`
	Reason placement.Reason `json:"reason"`
	Detail string           `json:"detail,omitempty"`
}

// Expand computes the expanded form of a template job: its template group
// with count 0, and one copy of it per selected camera, pinned to the node
// that placement.Place chose. Expand is pure. It returns an error, and no
// job, when the metadata is invalid. When the selector matches no camera,
// it returns an error wrapping ErrNoCameraSelected together with a result
// that keeps every group except those of cameras gone from the catalog.
func Expand(job *api.Job, cat Catalog, nodes []placement.Node) (Result, error) {
	return ExpandIdle(job, cat, nodes, nil)
}

// ExpandIdle is Expand for a job whose expanded groups named in idle have
// no allocation running or waiting to run, such as finished batch groups.
// Placement counts no CPU or memory for them, so their holders have room
// for the job's other groups.
func ExpandIdle(job *api.Job, cat Catalog, nodes []placement.Node, idle map[string]bool) (Result, error) {
	spec, err := ParseSpec(job)
	if err != nil {
		return Result{}, err
	}
	tmpl := findGroup(job, spec.Template)
	if tmpl == nil {
		return Result{}, fmt.Errorf("job %q: meta %s names task group %q, which the job does not have", spec.JobID, MetaTemplate, spec.Template)
	}

	in, sel, selectErr := placementInput(job, spec, tmpl, cat, nodes)
	for i := range in.Groups {
		in.Groups[i].Idle = idle[GroupName(spec.Template, in.Groups[i].CameraID)]
	}
	if selectErr != nil {
		selectErr = fmt.Errorf("job %q: meta %s = %q: %w", spec.JobID, MetaSelector, job.Meta[MetaSelector], selectErr)
		if !errors.Is(selectErr, ErrNoCameraSelected) {
			return Result{}, selectErr
		}
	}
	plan, err := placement.Place(in, placement.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("job %q: %w", spec.JobID, err)
	}
	plan.Unplaced = append(plan.Unplaced, sel.skipped...)
	plan.Totals.Unplaced += len(sel.skipped)
	sel.plan, sel.absence = plan, cat.Absence

	res := Result{Spec: spec, Plan: plan}
	res.Job, res.Kept, res.Removed = buildJob(job, spec, tmpl, sel)
	res.Hash = planHash(res.Job, spec)
	findGroup(res.Job, spec.Template).Meta[MetaPlanHash] = res.Hash
	res.Changed = registeredHash(job, spec) != res.Hash
	return res, selectErr
}

// ErrNoCameraSelected is wrapped by the error of Expand when the selector
// matches no camera in the catalog, which is almost always a mistyped site
// or tag.
var ErrNoCameraSelected = errors.New("selector matches no camera")

// selection is the record of one expansion's decisions about each camera,
// from which buildJob decides the fate of groups that get no placement.
type selection struct {
	plan    placement.Plan
	absence Absence
	// listed are the cameras the catalog lists, and selected those the
	// job's selector picks.
	listed   map[string]bool
	selected map[string]bool
	// named are the cameras of the selector's cameras= clause, or nil
	// when it has none.
	named map[string]bool
	// skipped are the selected cameras left without a group because no
	// holder has recordings in the job's time range, or because the
	// holders' KV documents are missing.
	skipped []placement.Unplaced
	// noMatch is true when the selector matches no camera, so that no
	// group is removed for not being selected.
	noMatch bool
}

// placementInput turns the catalog and the template into a placement input,
// with the plan that the job's current groups record as Previous.
func placementInput(job *api.Job, spec Spec, tmpl *api.TaskGroup, cat Catalog, nodes []placement.Node) (placement.Input, selection, error) {
	set := camerasOf(cat, spec.Range)
	sel := selection{listed: make(map[string]bool), selected: make(map[string]bool)}
	for _, c := range set.cameras {
		sel.listed[c.ID] = true
	}
	cameras := set.cameras
	if len(spec.Cameras) > 0 {
		cameras = explicitCameras(cameras, spec.Cameras)
		sel.named = make(map[string]bool, len(spec.Cameras))
		for _, id := range spec.Cameras {
			sel.named[id] = true
		}
	}
	if len(spec.Cameras) == 0 && !slices.ContainsFunc(cameras, spec.Selector.Matches) {
		sel.noMatch = true
		in := placement.Input{Nodes: nodes, Cameras: cameras, Holdings: set.holdings}
		return in, sel, fmt.Errorf("%w: sites %q and tags %q match none of the %d cameras in the catalog; check them against ferry-scheduler status",
			ErrNoCameraSelected, spec.Selector.Sites, spec.Selector.Tags, len(cameras))
	}
	cpu, mem := groupDemand(tmpl)
	all, err := placement.ExpandGroups(cameras, set.holdings, spec.Selector, placement.GroupTemplate{
		Name: spec.Template, CPUMHz: cpu, MemoryMB: mem, Locality: spec.Locality, Range: spec.Range,
	})
	if err != nil {
		return placement.Input{}, sel, err
	}

	var groups []placement.Group
	for _, g := range all {
		sel.selected[g.CameraID] = true
		if detail, ok := set.outOfRange[g.CameraID]; ok {
			sel.skipped = append(sel.skipped, placement.Unplaced{GroupID: g.ID, CameraID: g.CameraID, Reason: ReasonNoRecordingsInRange, Detail: detail})
			continue
		}
		if detail, ok := set.detailMissing[g.CameraID]; ok {
			sel.skipped = append(sel.skipped, placement.Unplaced{GroupID: g.ID, CameraID: g.CameraID, Reason: ReasonDetailMissing, Detail: detail})
			continue
		}
		groups = append(groups, g)
	}
	return placement.Input{
		Nodes: nodes, Cameras: cameras, Holdings: set.holdings, Groups: groups,
		Previous: previousPlan(job, spec),
	}, sel, nil
}

// explicitCameras keeps the named cameras, adding those the catalog does not
// list so that they show up as having no holder.
func explicitCameras(all []placement.Camera, names []string) []placement.Camera {
	var out []placement.Camera
	for _, name := range names {
		i := slices.IndexFunc(all, func(c placement.Camera) bool { return c.ID == name })
		if i < 0 {
			out = append(out, placement.Camera{ID: name})
			continue
		}
		out = append(out, all[i])
	}
	return out
}

func groupDemand(tg *api.TaskGroup) (cpu, mem int64) {
	for _, task := range tg.Tasks {
		if task.Resources == nil {
			continue
		}
		cpu += int64(deref(task.Resources.CPU))
		mem += int64(deref(task.Resources.MemoryMB))
	}
	return cpu, mem
}

// previousPlan rebuilds the last plan from the metadata of the job's
// expanded groups, so that a restarted service keeps groups where they are.
func previousPlan(job *api.Job, spec Spec) *placement.Plan {
	prev := &placement.Plan{}
	for _, tg := range job.TaskGroups {
		camera, node := tg.Meta[GroupMetaCamera], tg.Meta[GroupMetaNode]
		if camera == "" || node == "" {
			continue
		}
		reason := placement.Reason(tg.Meta[GroupMetaReason])
		prev.Placements = append(prev.Placements, placement.Placement{
			GroupID: spec.Template + "/" + camera, CameraID: camera, NodeID: node, Reason: reason,
			Local:  reason == placement.ReasonLocal || reason == placement.ReasonReplica || reason == placement.ReasonQueued,
			Detail: tg.Meta[GroupMetaDetail],
		})
	}
	return prev
}

func findGroup(job *api.Job, name string) *api.TaskGroup {
	for _, tg := range job.TaskGroups {
		if deref(tg.Name) == name {
			return tg
		}
	}
	return nil
}

// GroupName is the name of the expanded group of template for camera.
func GroupName(template, camera string) string {
	return template + "-" + camera
}

// registeredHash returns the plan hash that the job carries, from its
// template group or, as older expansions stored it, from the job's meta.
func registeredHash(job *api.Job, spec Spec) string {
	if tmpl := findGroup(job, spec.Template); tmpl != nil && tmpl.Meta[MetaPlanHash] != "" {
		return tmpl.Meta[MetaPlanHash]
	}
	return job.Meta[MetaPlanHash]
}

// planHash hashes what decides the expanded job: the job without a plan
// hash, which buildJob removes. Nomad's canonical form of a job is stable across reads, so
// the same template and plan give the same hash.
func planHash(job *api.Job, spec Spec) string {
	c := *job
	// Nomad sets these on every registration, so they change without
	// any change of input.
	c.Version, c.ModifyIndex, c.JobModifyIndex, c.CreateIndex, c.SubmitTime = nil, nil, nil, nil, nil
	c.Status, c.StatusDescription, c.Stable = nil, nil, nil
	data, err := json.Marshal(&c)
	if err != nil {
		panic(fmt.Sprintf("encode job %q: %v", spec.JobID, err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

func copyJob(job *api.Job) *api.Job {
	data, err := json.Marshal(job)
	if err != nil {
		panic(fmt.Sprintf("encode job: %v", err))
	}
	var out api.Job
	if err := json.Unmarshal(data, &out); err != nil {
		panic(fmt.Sprintf("decode job: %v", err))
	}
	return &out
}

func formatBytes(n int64) string {
	return strconv.FormatInt(n, 10)
}
