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
	both, err := service.Expand(planTemplate(), grown, nodes)
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	narrowed := planTemplate()
	narrowed.Meta[service.MetaSelector] = "cameras=cam-a"

	cases := []struct {
		name            string
		file            *nomadapi.Job
		registered      *nomadapi.Job
		cat             service.Catalog
		wantRegister    bool
		wantFileDiffers bool
	}{
		{"not in nomad", planTemplate(), nil, cat, true, false},
		{"expanded and unchanged", planTemplate(), expanded.Job, cat, false, false},
		{"new camera", planTemplate(), expanded.Job, grown, true, false},
		{"file removes a group", narrowed, both.Job, grown, true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, fileDiffers, err := expandPlan(tc.file, tc.registered, tc.cat, nodes)
			if err != nil {
				t.Fatalf("expandPlan: %v", err)
			}
			if res.Changed != tc.wantRegister {
				t.Errorf("would register %v, want %v", res.Changed, tc.wantRegister)
			}
			if fileDiffers != tc.wantFileDiffers {
				t.Errorf("file differs %v, want %v", fileDiffers, tc.wantFileDiffers)
			}
			if len(res.Removed) > 0 && !res.Changed {
				t.Errorf("plan removes %d groups but would not register", len(res.Removed))
			}
		})
	}
}
