package service

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/ferry-video/ferry/scheduler/catalog"
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

// Catalog is the storage that the catalog lists, as one reconcile pass
// reads it.
type Catalog struct {
	Holdings catalog.Holdings
	// Bytes are the recorded bytes by node name, then camera id, from the
	// registrar's KV documents. A missing entry counts as 0 bytes.
	Bytes map[string]map[string]int64
}

// Result is the expansion of one template job.
type Result struct {
	Spec Spec
	// Job is the expanded job, ready to register.
	Job  *api.Job
	Plan placement.Plan
	// Hash is the plan hash of Job, stored in its MetaPlanHash.
	Hash string
	// Changed is false when the job in Nomad already carries Hash.
	Changed bool
	// Kept are the groups left as they were because their camera has no
	// placement in this plan, such as a camera missing from the catalog.
	Kept []string
}

// Expand computes the expanded form of a template job: its template group
// with count 0, and one copy of it per selected camera, pinned to the node
// that placement.Place chose. Expand is pure. It returns an error, and no
// job, when the metadata is invalid or the selector matches no camera.
func Expand(job *api.Job, cat Catalog, nodes []placement.Node) (Result, error) {
	spec, err := ParseSpec(job)
	if err != nil {
		return Result{}, err
	}
	tmpl := findGroup(job, spec.Template)
	if tmpl == nil {
		return Result{}, fmt.Errorf("job %q: meta %s names task group %q, which the job does not have", spec.JobID, MetaTemplate, spec.Template)
	}

	in, err := placementInput(job, spec, tmpl, cat, nodes)
	if err != nil {
		return Result{}, fmt.Errorf("job %q: %w", spec.JobID, err)
	}
	plan, err := placement.Place(in, placement.Options{})
	if err != nil {
		return Result{}, fmt.Errorf("job %q: %w", spec.JobID, err)
	}

	res := Result{Spec: spec, Plan: plan}
	res.Job, res.Kept = buildJob(job, spec, tmpl, plan)
	res.Hash = planHash(res.Job, spec)
	res.Job.Meta[MetaPlanHash] = res.Hash
	res.Changed = job.Meta[MetaPlanHash] != res.Hash
	return res, nil
}

// placementInput turns the catalog and the template into a placement input,
// with the plan that the job's current groups record as Previous.
func placementInput(job *api.Job, spec Spec, tmpl *api.TaskGroup, cat Catalog, nodes []placement.Node) (placement.Input, error) {
	cameras, holdings := camerasOf(cat)
	if len(spec.Cameras) > 0 {
		cameras = explicitCameras(cameras, spec.Cameras)
	}
	cpu, mem := groupDemand(tmpl)
	groups, err := placement.ExpandGroups(cameras, holdings, spec.Selector, placement.GroupTemplate{
		Name: spec.Template, CPUMHz: cpu, MemoryMB: mem, Locality: spec.Locality, Range: spec.Range,
	})
	if err != nil {
		return placement.Input{}, err
	}
	return placement.Input{
		Nodes: nodes, Cameras: cameras, Holdings: holdings, Groups: groups,
		Previous: previousPlan(job, spec),
	}, nil
}

// camerasOf lists every camera in the catalog and one holding per node and
// camera. A camera's site is that of its first holder by node name, and its
// tags are the sites of all its holders.
//
// NOTE: the catalog carries no camera tags, so "tag=" matches holder sites.
// Holdings have no time range, so a group's time range never excludes one.
func camerasOf(cat Catalog) ([]placement.Camera, []placement.Holding) {
	index := make(map[string]int)
	var cameras []placement.Camera
	var holdings []placement.Holding
	for _, node := range slices.Sorted(maps.Keys(cat.Holdings)) {
		h := cat.Holdings[node]
		for _, id := range h.Cameras {
			i, ok := index[id]
			if !ok {
				i = len(cameras)
				index[id] = i
				cameras = append(cameras, placement.Camera{ID: id, Site: h.Site})
			}
			if h.Site != "" && !slices.Contains(cameras[i].Tags, h.Site) {
				cameras[i].Tags = append(cameras[i].Tags, h.Site)
			}
			holdings = append(holdings, placement.Holding{CameraID: id, NodeID: node, Bytes: cat.Bytes[node][id]})
		}
	}
	slices.SortFunc(cameras, func(a, b placement.Camera) int { return strings.Compare(a.ID, b.ID) })
	return cameras, holdings
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
			Local: reason == placement.ReasonLocal || reason == placement.ReasonReplica,
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

// planHash hashes what decides the expanded job: the job with its plan
// hash removed. Nomad's canonical form of a job is stable across reads, so
// the same template and plan give the same hash.
func planHash(job *api.Job, spec Spec) string {
	c := *job
	c.Meta = maps.Clone(job.Meta)
	delete(c.Meta, MetaPlanHash)
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
