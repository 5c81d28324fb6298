package service

import (
	"strings"
	"testing"

	"github.com/hashicorp/nomad/api"
)

func TestGroupProblem(t *testing.T) {
	staging := &api.AllocationListStub{
		ID: "a1b2c3d4e5", NodeName: "edge-2", ClientStatus: api.AllocClientStatusFailed,
		TaskStates: map[string]*api.TaskState{"detect": {Failed: true, Events: []*api.TaskEvent{
			{Type: "Received"},
			{Type: "Driver Failure", DisplayMessage: `failed to stage camera "north-gate" from any staging peer: checksum mismatch`},
			{Type: "Not Restarting"},
		}}},
	}
	filtered := []*api.Evaluation{{
		ID: "e1e2e3e4e5", CreateIndex: 7,
		FailedTGAllocs: map[string]*api.AllocationMetric{"detect-cam-a": {
			NodesEvaluated: 3, NodesInPool: 3,
			ConstraintFiltered: map[string]int{"${meta.ferry.cameras} set_contains cam-a": 3},
		}},
	}}
	tests := []struct {
		name   string
		allocs []*api.AllocationListStub
		evals  []*api.Evaluation
		want   []string
	}{
		{"running", []*api.AllocationListStub{{ID: "r1", ClientStatus: api.AllocClientStatusRunning}}, nil, nil},
		{"staging checksum mismatch", []*api.AllocationListStub{staging}, nil, []string{"a1b2c3d4", "edge-2", "failed", "Driver Failure", "checksum mismatch"}},
		{"constraint filtered", nil, filtered, []string{"e1e2e3e4", "3 filtered by constraint ${meta.ferry.cameras} set_contains cam-a"}},
		{"no allocation yet", nil, nil, []string{"no allocation", "nomad job status detect"}},
		{"completed after a failed evaluation", []*api.AllocationListStub{{ID: "c1", ClientStatus: api.AllocClientStatusComplete, CreateIndex: 9}}, filtered, nil},
		{"failed evaluation after the newest allocation", []*api.AllocationListStub{{ID: "f1", ClientStatus: api.AllocClientStatusFailed, CreateIndex: 5}}, filtered, []string{"e1e2e3e4", "could not place"}},
		{"finished and collected", nil, nil, []string{"finished", "collected"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := GroupReport{Job: "detect", Group: "detect-cam-a", Count: 1}
			if tt.name == "finished and collected" {
				g.Count = 0
			}
			for _, a := range tt.allocs {
				g.Allocs = append(g.Allocs, AllocReport{ID: a.ID, Node: a.NodeName, ClientStatus: a.ClientStatus, Reason: allocReason(a), createIndex: a.CreateIndex})
			}
			got := groupProblem(g, tt.evals)
			if len(tt.want) == 0 && got != "" {
				t.Errorf("problem %q, want none", got)
			}
			if len(tt.want) > 0 && got == "" {
				t.Errorf("problem is empty, want one containing %q", tt.want)
			}
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("problem %q does not contain %q", got, want)
				}
			}
		})
	}
}

func TestMetaAdded(t *testing.T) {
	text := func(s string) *string { return &s }
	tests := []struct {
		name string
		have map[string]string
		want map[string]*string
		ok   bool
	}{
		{"camera added and seen", map[string]string{"ferry.cameras": "a,b"}, map[string]*string{"ferry.cameras": text("a,b")}, true},
		{"camera added not seen", map[string]string{"ferry.cameras": "a"}, map[string]*string{"ferry.cameras": text("a,b")}, false},
		{"camera removed not seen yet", map[string]string{"ferry.cameras": "a,b"}, map[string]*string{"ferry.cameras": text("a")}, true},
		{"key removed not seen yet", map[string]string{"ferry.cameras": "a"}, map[string]*string{"ferry.cameras": nil}, true},
		{"site changed not seen", map[string]string{"ferry.site": "s1"}, map[string]*string{"ferry.site": text("s2")}, false},
		{"site seen", map[string]string{"ferry.site": "s2"}, map[string]*string{"ferry.site": text("s2")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metaAdded(tt.have, tt.want); got != tt.ok {
				t.Errorf("metaAdded(%v) = %v, want %v", tt.have, got, tt.ok)
			}
		})
	}
}

func TestMarkKeptGroups(t *testing.T) {
	groups := []GroupReport{{Group: "detect-cam-a"}, {Group: "detect-cam-b"}}
	markKept(groups, []GroupChange{{Group: "detect-cam-b", Camera: "cam-b", Reason: ReasonMissing}})
	if groups[0].Kept != nil {
		t.Errorf("detect-cam-a kept = %+v, want nil", groups[0].Kept)
	}
	if groups[1].Kept == nil || groups[1].Kept.Reason != ReasonMissing {
		t.Errorf("detect-cam-b kept = %+v, want reason %q", groups[1].Kept, ReasonMissing)
	}
}
