package service

import (
	"testing"

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
