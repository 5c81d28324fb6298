package service

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/nomad/api"
)

// allocReason returns why an allocation is not running: the last task
// event that carries a message, such as a driver failure on a staging
// checksum mismatch. It returns "" for a running or completed allocation.
func allocReason(a *api.AllocationListStub) string {
	if a.ClientStatus == api.AllocClientStatusRunning || a.ClientStatus == api.AllocClientStatusComplete {
		return ""
	}
	var reasons []string
	for _, task := range slices.Sorted(maps.Keys(a.TaskStates)) {
		state := a.TaskStates[task]
		if state == nil {
			continue
		}
		for i := len(state.Events) - 1; i >= 0; i-- {
			if text := eventText(state.Events[i]); text != "" {
				reasons = append(reasons, fmt.Sprintf("task %q: %s: %s", task, state.Events[i].Type, text))
				break
			}
		}
	}
	if len(reasons) == 0 {
		return a.ClientDescription
	}
	return strings.Join(reasons, "; ")
}

func eventText(e *api.TaskEvent) string {
	for _, text := range []string{e.DisplayMessage, e.DriverError, e.SetupError, e.ValidationError, e.Message} {
		if text != "" {
			return text
		}
	}
	return ""
}

// groupProblem returns why an expanded group has no running allocation:
// the placement failure of the latest evaluation, newer than the group's
// newest allocation, that could not place it, or the reason of its newest
// allocation. It returns "" when an allocation runs or the newest one
// completed, and a "finished" message when Nomad collected them.
func groupProblem(g GroupReport, evals []*api.Evaluation) string {
	for _, a := range g.Allocs {
		if a.ClientStatus == api.AllocClientStatusRunning {
			return ""
		}
	}
	var after uint64
	if len(g.Allocs) > 0 {
		last := g.Allocs[len(g.Allocs)-1]
		if last.ClientStatus == api.AllocClientStatusComplete {
			return ""
		}
		after = last.createIndex
	}
	if failure := placementFailure(g.Group, evals, after); failure != "" {
		return failure
	}
	if len(g.Allocs) == 0 {
		if g.Count == 0 {
			return "finished: Nomad has collected its allocations, and count 0 keeps it from running again"
		}
		return "Nomad has no allocation for the group yet; run nomad job status " + g.Job
	}
	last := g.Allocs[len(g.Allocs)-1]
	if last.Reason != "" {
		return fmt.Sprintf("allocation %.8s on %s is %s: %s", last.ID, last.Node, last.ClientStatus, last.Reason)
	}
	return fmt.Sprintf("allocation %.8s on %s is %s", last.ID, last.Node, last.ClientStatus)
}

// placementFailure describes why the newest evaluation created after
// index that failed to place group did so, or returns "" when none did.
// Older failures were followed by an allocation, so they are past.
func placementFailure(group string, evals []*api.Evaluation, after uint64) string {
	var newest *api.Evaluation
	for _, e := range evals {
		if e.CreateIndex <= after {
			continue
		}
		if e.FailedTGAllocs[group] != nil && (newest == nil || e.CreateIndex > newest.CreateIndex) {
			newest = e
		}
	}
	if newest == nil {
		return ""
	}
	m := newest.FailedTGAllocs[group]
	parts := []string{fmt.Sprintf("Nomad evaluation %.8s could not place the group: %d of %d nodes evaluated", newest.ID, m.NodesEvaluated, m.NodesInPool)}
	for _, c := range slices.Sorted(maps.Keys(m.ConstraintFiltered)) {
		parts = append(parts, fmt.Sprintf("%d filtered by constraint %s", m.ConstraintFiltered[c], c))
	}
	for _, d := range slices.Sorted(maps.Keys(m.DimensionExhausted)) {
		parts = append(parts, fmt.Sprintf("%d exhausted on %s", m.DimensionExhausted[d], d))
	}
	return strings.Join(parts, ", ")
}
