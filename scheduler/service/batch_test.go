package service

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/ferry-video/ferry/scheduler/placement"

	"github.com/hashicorp/nomad/api"
)

func TestHoldFinishedGroups(t *testing.T) {
	group := func(name string, count int, node string) *api.TaskGroup {
		return &api.TaskGroup{Name: pointer(name), Count: pointer(count), Meta: map[string]string{GroupMetaCamera: name, GroupMetaNode: node}}
	}
	alloc := func(group, status string, version uint64) *api.AllocationListStub {
		return &api.AllocationListStub{TaskGroup: group, ClientStatus: status, JobVersion: version, CreateIndex: 10}
	}
	cases := []struct {
		name      string
		oldGroup  *api.TaskGroup
		newGroup  *api.TaskGroup
		allocs    []*api.AllocationListStub
		wantCount int
	}{
		{"complete and unchanged", group("a", 1, "n1"), group("a", 1, "n1"), []*api.AllocationListStub{alloc("a", api.AllocClientStatusComplete, 3)}, 0},
		{"held before", group("a", 0, "n1"), group("a", 1, "n1"), nil, 0},
		{"running", group("a", 1, "n1"), group("a", 1, "n1"), []*api.AllocationListStub{alloc("a", api.AllocClientStatusRunning, 3)}, 1},
		{"failed", group("a", 1, "n1"), group("a", 1, "n1"), []*api.AllocationListStub{alloc("a", api.AllocClientStatusFailed, 3)}, 1},
		{"complete under an older version", group("a", 1, "n1"), group("a", 1, "n1"), []*api.AllocationListStub{alloc("a", api.AllocClientStatusComplete, 2)}, 1},
		{"moved to another node", group("a", 0, "n1"), group("a", 1, "n2"), nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			registered := &api.Job{Type: pointer(api.JobTypeBatch), Version: pointer(uint64(3)), TaskGroups: []*api.TaskGroup{tc.oldGroup}}
			out := &api.Job{TaskGroups: []*api.TaskGroup{tc.newGroup}}
			holdFinishedGroups(out, registered, tc.allocs)
			if got := deref(out.TaskGroups[0].Count); got != tc.wantCount {
				t.Errorf("count %d, want %d", got, tc.wantCount)
			}
		})
	}

	t.Run("service job", func(t *testing.T) {
		registered := &api.Job{Type: pointer(api.JobTypeService), Version: pointer(uint64(3)), TaskGroups: []*api.TaskGroup{group("a", 0, "n1")}}
		out := &api.Job{TaskGroups: []*api.TaskGroup{group("a", 1, "n1")}}
		if heldGroups := holdFinishedGroups(out, registered, nil); len(heldGroups) != 0 {
			t.Errorf("held %v in a service job, want none", heldGroups)
		}
	})
}

func TestIdleGroups(t *testing.T) {
	alloc := func(client, desired string, index uint64) *api.AllocationListStub {
		return &api.AllocationListStub{TaskGroup: "detect-a", ClientStatus: client, DesiredStatus: desired, CreateIndex: index}
	}
	cases := []struct {
		name     string
		count    int
		allocs   []*api.AllocationListStub
		wantIdle bool
	}{
		{"complete", 1, []*api.AllocationListStub{alloc(api.AllocClientStatusComplete, api.AllocDesiredStatusRun, 1)}, true},
		{"failed", 1, []*api.AllocationListStub{alloc(api.AllocClientStatusFailed, api.AllocDesiredStatusRun, 1)}, true},
		{"lost", 1, []*api.AllocationListStub{alloc(api.AllocClientStatusLost, api.AllocDesiredStatusRun, 1)}, true},
		{"desired stop", 1, []*api.AllocationListStub{alloc(api.AllocClientStatusRunning, api.AllocDesiredStatusStop, 1)}, true},
		{"running", 1, []*api.AllocationListStub{alloc(api.AllocClientStatusRunning, api.AllocDesiredStatusRun, 1)}, false},
		{"failed then rescheduled", 1, []*api.AllocationListStub{
			alloc(api.AllocClientStatusFailed, api.AllocDesiredStatusRun, 1),
			alloc(api.AllocClientStatusPending, api.AllocDesiredStatusRun, 2),
		}, false},
		{"no allocation yet", 1, nil, false},
		{"count 0", 0, nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tg := &api.TaskGroup{Name: pointer("detect-a"), Count: pointer(tc.count), Meta: map[string]string{GroupMetaCamera: "a", GroupMetaNode: "n1"}}
			registered := &api.Job{Type: pointer(api.JobTypeBatch), TaskGroups: []*api.TaskGroup{tg}}
			if got := idleGroups(registered, tc.allocs)["detect-a"]; got != tc.wantIdle {
				t.Errorf("idle %v, want %v", got, tc.wantIdle)
			}
		})
	}
}

// TestExpandRequiredBeyondHolderRoom covers a required batch job with more
// cameras on one node than the node can run at once: every camera gets a
// group on the holder, and once the first groups finish, the others count
// as local again.
func TestExpandRequiredBeyondHolderRoom(t *testing.T) {
	var cameras []string
	for i := range 10 {
		cameras = append(cameras, fmt.Sprintf("cam-%d", i))
	}
	cat := holdings(map[string][]string{"n1": cameras})
	nodes := []placement.Node{{ID: "n1", Site: "s1", CPUMHz: 5198, MemoryMB: 16384, Eligible: true}}
	job := templateJob(map[string]string{MetaLocality: string(placement.LocalityRequired)})
	job.Type = pointer(api.JobTypeBatch)
	job.TaskGroups[0].Tasks[0].Resources.CPU = pointer(1000)

	first := mustExpand(t, job, cat, nodes)
	if n := len(first.Plan.Unplaced); n != 0 {
		t.Fatalf("%d groups unplaced, want 0: %+v", n, first.Plan.Unplaced)
	}
	if n := len(expandedGroups(first.Job)); n != 10 {
		t.Fatalf("%d expanded groups, want 10", n)
	}
	queued := reasonCount(first.Plan, placement.ReasonQueued)
	if queued != 5 {
		t.Errorf("%d groups queued on the holder, want 5", queued)
	}

	var allocs []*api.AllocationListStub
	for _, p := range first.Plan.Placements {
		if p.Reason == placement.ReasonLocal {
			allocs = append(allocs, &api.AllocationListStub{TaskGroup: GroupName("detect", p.CameraID), ClientStatus: api.AllocClientStatusComplete, DesiredStatus: api.AllocDesiredStatusRun})
		}
	}
	second, err := ExpandIdle(first.Job, cat, nodes, idleGroups(first.Job, allocs))
	if err != nil {
		t.Fatalf("ExpandIdle: %v", err)
	}
	if n := reasonCount(second.Plan, placement.ReasonQueued); n != 0 {
		t.Errorf("%d groups still queued after the first 5 finished, want 0", n)
	}
	if n := len(second.Plan.Placements); n != 10 {
		t.Errorf("%d placements, want 10", n)
	}
	// A group that waited for room keeps its spec once it has room, so
	// Nomad does not replace its allocation.
	before := expandedGroups(first.Job)
	for camera, tg := range expandedGroups(second.Job) {
		if !bytes.Equal(encodeGroup(tg), encodeGroup(before[camera])) {
			t.Errorf("group of %s changed after the first groups finished", camera)
		}
	}
}

func reasonCount(p placement.Plan, reason placement.Reason) int {
	n := 0
	for _, pl := range p.Placements {
		if pl.Reason == reason {
			n++
		}
	}
	return n
}
