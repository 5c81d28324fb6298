package service

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hashicorp/nomad/api"
)

// Nomad (scheduler/reconciler/filters.go, filterOldTerminalAllocs, in
// v2.0) ignores the finished allocations of a batch job once the job has a
// newer version, so every registration of a changed batch job runs each
// finished group again, changed or not. The service therefore registers a
// finished, unchanged group of a batch job with count 0: Nomad then has
// nothing to place for it, and its finished allocation stays as it is.

// Allocations lists the allocations of the job.
func (c *NomadCluster) Allocations(ctx context.Context, job *api.Job) ([]*api.AllocationListStub, error) {
	q := (&api.QueryOptions{Namespace: deref(job.Namespace)}).WithContext(ctx)
	allocs, _, err := c.Client.Jobs().Allocations(deref(job.ID), true, q)
	if err != nil {
		return nil, fmt.Errorf("list allocations of nomad job %q: %w", deref(job.ID), err)
	}
	return allocs, nil
}

// holdFinishedGroups sets count 0 on each group of out, the new expansion
// of the registered batch job, that is unchanged and done. A group is done
// when the registered group has count 0 already, or when its newest
// allocation completed under the registered version. It returns the names of those groups. A group whose spec
// changed keeps count 1, so that Nomad runs it again, as it would for any
// changed batch group.
func holdFinishedGroups(out, registered *api.Job, allocs []*api.AllocationListStub) []string {
	if deref(registered.Type) != api.JobTypeBatch {
		return nil
	}
	newest := make(map[string]*api.AllocationListStub)
	for _, a := range allocs {
		if n := newest[a.TaskGroup]; n == nil || a.CreateIndex > n.CreateIndex {
			newest[a.TaskGroup] = a
		}
	}
	var held []string
	for _, tg := range out.TaskGroups {
		name := deref(tg.Name)
		old := findGroup(registered, name)
		if !IsExpandedGroup(tg) || old == nil || !sameExceptCount(tg, old) {
			continue
		}
		done := deref(old.Count) == 0
		if a := newest[name]; a != nil && a.ClientStatus == api.AllocClientStatusComplete && a.JobVersion == deref(registered.Version) {
			done = true
		}
		if done {
			tg.Count = pointer(0)
			held = append(held, name)
		}
	}
	return held
}

// sameExceptCount reports whether two groups are equal apart from their
// count.
func sameExceptCount(a, b *api.TaskGroup) bool {
	ca, cb := copyGroup(a), copyGroup(b)
	ca.Count, cb.Count = nil, nil
	return bytes.Equal(encodeGroup(ca), encodeGroup(cb))
}

// idleGroups returns the expanded groups of the registered batch job that
// take no resources now: those registered with count 0, and those whose
// allocations are all terminal (client status complete, failed or lost, or
// desired status stop or evict). A group without any allocation is
// waiting to be placed, so it is not idle.
func idleGroups(registered *api.Job, allocs []*api.AllocationListStub) map[string]bool {
	idle := make(map[string]bool)
	live := make(map[string]bool)
	for _, a := range allocs {
		if allocTerminal(a) {
			idle[a.TaskGroup] = true
		} else {
			live[a.TaskGroup] = true
		}
	}
	for name := range live {
		delete(idle, name)
	}
	for _, tg := range registered.TaskGroups {
		if IsExpandedGroup(tg) && tg.Count != nil && *tg.Count == 0 {
			idle[deref(tg.Name)] = true
		}
	}
	return idle
}

func allocTerminal(a *api.AllocationListStub) bool {
	switch a.ClientStatus {
	case api.AllocClientStatusComplete, api.AllocClientStatusFailed, api.AllocClientStatusLost:
		return true
	}
	return a.DesiredStatus == api.AllocDesiredStatusStop || a.DesiredStatus == api.AllocDesiredStatusEvict
}
