package main

import (
	"testing"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/ferry-video/ferry/scheduler/service"
	nomadapi "github.com/hashicorp/nomad/api"
)

func planTemplate() *nomadapi.Job {
	return &nomadapi.Job{
		ID:   ptr("detect"),
		Meta: map[string]string{service.MetaSelector: "site=s1", service.MetaTemplate: "detect"},
		TaskGroups: []*nomadapi.TaskGroup{{
			Name:  ptr("detect"),
			Count: ptr(0),
			Tasks: []*nomadapi.Task{{Name: "detect", Driver: "video"}},
		}},
	}
}

func ptr[T any](v T) *T { return &v }

func TestPlanWouldRegister(t *testing.T) {
	cat := service.Catalog{Holdings: catalog.Holdings{"n1": {Site: "s1", Cameras: []string{"cam-a"}}}}
	nodes := []placement.Node{{ID: "n1", Site: "s1", CPUMHz: 4000, MemoryMB: 8192, Eligible: true}}
	expanded, err := service.Expand(planTemplate(), cat, nodes)
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	grown := service.Catalog{Holdings: catalog.Holdings{"n1": {Site: "s1", Cameras: []string{"cam-a", "cam-b"}}}}

	cases := []struct {
		name       string
		registered *nomadapi.Job
		cat        service.Catalog
		want       bool
	}{
		{"not in nomad", nil, cat, true},
		{"expanded and unchanged", expanded.Job, cat, false},
		{"new camera", expanded.Job, grown, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := expandPlan(planTemplate(), tc.registered, tc.cat, nodes)
			if err != nil {
				t.Fatalf("expandPlan: %v", err)
			}
			if res.Changed != tc.want {
				t.Errorf("would register %v, want %v", res.Changed, tc.want)
			}
		})
	}
}
