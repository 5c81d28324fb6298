package service

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// Report is the content of the status command: each camera's holders,
// each expanded group with its placement and allocations, and the template
// jobs that do not expand.
type Report struct {
	// Holders are the nodes holding each camera, by camera id.
	Holders map[string][]string `json:"holders"`
	Groups  []GroupReport       `json:"groups"`
	// Unplaced are the selected cameras that get no group from the current
	// catalog, with the reason, such as no recordings in the job's time
	// range.
	Unplaced []CameraReport `json:"unplaced,omitempty"`
	// Errors are the template jobs that do not expand with the current
	// catalog, with the reason.
	Errors []JobStatus `json:"errors,omitempty"`
}

// CameraReport is a selected camera of a job that has no placement.
type CameraReport struct {
	Job    string `json:"job"`
	Camera string `json:"camera"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// GroupReport is one expanded group as registered in Nomad.
type GroupReport struct {
	Job        string        `json:"job"`
	Group      string        `json:"group"`
	Camera     string        `json:"camera"`
	Node       string        `json:"node"`
	Reason     string        `json:"reason"`
	Detail     string        `json:"detail,omitempty"`
	BytesMoved int64         `json:"bytes_moved"`
	Local      bool          `json:"local"`
	Allocs     []AllocReport `json:"allocations"`
	// Count is the group's count in Nomad. The scheduler sets it to 0 for
	// a batch group that finished, so that Nomad does not run it again.
	Count int `json:"count"`
	// Problem is the reason no allocation of the group runs, or empty
	// when one does.
	Problem string `json:"problem,omitempty"`
	// Kept is set when the current catalog gives the group's camera no
	// placement and the group stays as registered, such as while its
	// camera is missing from the catalog.
	Kept *GroupChange `json:"kept,omitempty"`
}

// AllocReport is one allocation of an expanded group.
type AllocReport struct {
	ID           string `json:"id"`
	Node         string `json:"node"`
	ClientStatus string `json:"client_status"`
	// Reason is the last task event message of an allocation that is not
	// running or complete, such as a failed staging.
	Reason string `json:"reason,omitempty"`
	// createIndex orders the allocation against Nomad's evaluations.
	createIndex uint64
}

// BuildReport reads the template jobs and their allocations from Nomad and
// checks each job's expansion against the catalog without registering.
func BuildReport(ctx context.Context, nomad *NomadCluster, cat Catalog) (Report, error) {
	rep := Report{Holders: make(map[string][]string)}
	for _, node := range slices.Sorted(maps.Keys(cat.Holdings)) {
		for _, camera := range cat.Holdings[node].Cameras {
			rep.Holders[camera] = append(rep.Holders[camera], node)
		}
	}

	_, nodes, err := nomad.Nodes(ctx)
	if err != nil {
		return Report{}, err
	}
	jobs, err := nomad.TemplateJobs(ctx)
	if err != nil {
		return Report{}, err
	}
	for _, job := range jobs {
		res, err := Expand(job, cat, nodes)
		if err != nil {
			rep.Errors = append(rep.Errors, JobStatus{Job: deref(job.ID), Error: err.Error()})
		}
		for _, u := range res.Plan.Unplaced {
			rep.Unplaced = append(rep.Unplaced, CameraReport{Job: deref(job.ID), Camera: u.CameraID, Reason: string(u.Reason), Detail: u.Detail})
		}
		groups, err := jobGroups(ctx, nomad.Client, job)
		if err != nil {
			return Report{}, err
		}
		markKept(groups, res.Kept)
		rep.Groups = append(rep.Groups, groups...)
	}
	return rep, nil
}

func jobGroups(ctx context.Context, client *api.Client, job *api.Job) ([]GroupReport, error) {
	q := (&api.QueryOptions{Namespace: deref(job.Namespace)}).WithContext(ctx)
	allocs, _, err := client.Jobs().Allocations(deref(job.ID), false, q)
	if err != nil {
		return nil, fmt.Errorf("list allocations of nomad job %q: %w", deref(job.ID), err)
	}
	evals, _, err := client.Jobs().Evaluations(deref(job.ID), q)
	if err != nil {
		return nil, fmt.Errorf("list evaluations of nomad job %q: %w", deref(job.ID), err)
	}
	// Allocations in creation order, so the last is the newest.
	slices.SortFunc(allocs, func(a, b *api.AllocationListStub) int { return cmp.Compare(a.CreateIndex, b.CreateIndex) })
	var out []GroupReport
	for _, tg := range job.TaskGroups {
		if !IsExpandedGroup(tg) {
			continue
		}
		bytes, _ := strconv.ParseInt(tg.Meta[GroupMetaBytesMoved], 10, 64)
		g := GroupReport{
			Job: deref(job.ID), Group: deref(tg.Name), Camera: tg.Meta[GroupMetaCamera],
			Node: tg.Meta[GroupMetaNode], Reason: tg.Meta[GroupMetaReason], Detail: tg.Meta[GroupMetaDetail],
			BytesMoved: bytes, Count: deref(tg.Count),
		}
		g.Local = g.Reason == string(placement.ReasonLocal) || g.Reason == string(placement.ReasonReplica) || g.Reason == string(placement.ReasonQueued)
		for _, a := range allocs {
			if a.TaskGroup == g.Group {
				g.Allocs = append(g.Allocs, AllocReport{ID: a.ID, Node: a.NodeName, ClientStatus: a.ClientStatus, Reason: allocReason(a), createIndex: a.CreateIndex})
			}
		}
		g.Problem = groupProblem(g, evals)
		out = append(out, g)
	}
	return out, nil
}

// markKept sets Kept on each group that the expansion keeps without a
// placement.
func markKept(groups []GroupReport, kept []GroupChange) {
	for i := range groups {
		for _, k := range kept {
			if k.Group == groups[i].Group {
				groups[i].Kept = &k
			}
		}
	}
}
