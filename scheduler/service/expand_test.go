package service

import (
	"strings"
	"testing"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// templateJob returns a template job with one "detect" group, and meta
// merged over a selector of every camera at site s1.
func templateJob(meta map[string]string) *api.Job {
	job := &api.Job{
		ID:   pointer("detect"),
		Name: pointer("detect"),
		Meta: map[string]string{MetaSelector: "site=s1", MetaTemplate: "detect"},
		TaskGroups: []*api.TaskGroup{{
			Name:  pointer("detect"),
			Count: pointer(1),
			Tasks: []*api.Task{{
				Name:      "detect",
				Driver:    "video",
				Resources: &api.Resources{CPU: pointer(100), MemoryMB: pointer(128)},
			}},
		}},
	}
	for k, v := range meta {
		job.Meta[k] = v
	}
	return job
}

func testNodes(names ...string) []placement.Node {
	var nodes []placement.Node
	for _, n := range names {
		nodes = append(nodes, placement.Node{ID: n, Site: "s1", CPUMHz: 4000, MemoryMB: 8192, Eligible: true})
	}
	return nodes
}

func holdings(byNode map[string][]string) Catalog {
	h := make(catalog.Holdings)
	for node, cameras := range byNode {
		h[node] = catalog.Holding{Site: "s1", Cameras: cameras}
	}
	return Catalog{Holdings: h}
}

// expandedGroups returns the job's expanded groups by camera.
func expandedGroups(job *api.Job) map[string]*api.TaskGroup {
	out := make(map[string]*api.TaskGroup)
	for _, tg := range job.TaskGroups {
		if IsExpandedGroup(tg) {
			out[tg.Meta[GroupMetaCamera]] = tg
		}
	}
	return out
}

func mustExpand(t *testing.T, job *api.Job, cat Catalog, nodes []placement.Node) Result {
	t.Helper()
	res, err := Expand(job, cat, nodes)
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	return res
}

func TestExpandReplans(t *testing.T) {
	nodes := testNodes("n1", "n2")
	tests := []struct {
		name        string
		before      Catalog
		after       Catalog
		wantChanged bool
		wantNodes   map[string]string
	}{
		{
			name:        "new camera adds group",
			before:      holdings(map[string][]string{"n1": {"cam-a"}}),
			after:       holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}),
			wantChanged: true,
			wantNodes:   map[string]string{"cam-a": "n1", "cam-b": "n2"},
		},
		{
			name:        "same input changes nothing",
			before:      holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}),
			after:       holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}),
			wantChanged: false,
			wantNodes:   map[string]string{"cam-a": "n1", "cam-b": "n2"},
		},
		{
			name:        "camera moved re-pins",
			before:      holdings(map[string][]string{"n1": {"cam-a"}}),
			after:       holdings(map[string][]string{"n2": {"cam-a"}}),
			wantChanged: true,
			wantNodes:   map[string]string{"cam-a": "n2"},
		},
		{
			name:        "camera gone keeps group",
			before:      holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}),
			after:       holdings(map[string][]string{"n2": {"cam-b"}}),
			wantChanged: false,
			wantNodes:   map[string]string{"cam-a": "n1", "cam-b": "n2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := mustExpand(t, templateJob(nil), tt.before, nodes)
			second := mustExpand(t, first.Job, tt.after, nodes)
			if second.Changed != tt.wantChanged {
				t.Errorf("Changed = %v, want %v", second.Changed, tt.wantChanged)
			}
			groups := expandedGroups(second.Job)
			if len(groups) != len(tt.wantNodes) {
				t.Errorf("%d expanded groups, want %d", len(groups), len(tt.wantNodes))
			}
			for camera, node := range tt.wantNodes {
				tg := groups[camera]
				if tg == nil {
					t.Errorf("no group for camera %q", camera)
					continue
				}
				if got := tg.Meta[GroupMetaNode]; got != node {
					t.Errorf("camera %q pinned to %q, want %q", camera, got, node)
				}
				if got := lastAffinity(tg); got != node {
					t.Errorf("camera %q node affinity %q, want %q", camera, got, node)
				}
			}
		})
	}
}

func lastAffinity(tg *api.TaskGroup) string {
	for _, a := range tg.Affinities {
		if a.LTarget == nodeNameAttribute {
			return a.RTarget
		}
	}
	return ""
}

func TestExpandRequiredConstraint(t *testing.T) {
	job := templateJob(map[string]string{MetaLocality: "required", MetaSelector: "cameras=cam-a,cam-x"})
	res := mustExpand(t, job, holdings(map[string][]string{"n1": {"cam-a"}}), testNodes("n1"))

	tg := expandedGroups(res.Job)["cam-a"]
	if tg == nil {
		t.Fatalf("no group for cam-a")
	}
	if got := deref(tg.Name); got != "detect-cam-a" {
		t.Errorf("group name %q, want detect-cam-a", got)
	}
	if len(tg.Constraints) != 2 || tg.Constraints[0].LTarget != camerasAttribute ||
		tg.Constraints[0].Operand != "set_contains" || tg.Constraints[0].RTarget != "cam-a" {
		t.Errorf("constraints %+v, want set_contains cam-a on %s first", tg.Constraints, camerasAttribute)
	}
	if len(tg.Constraints) == 2 && (tg.Constraints[1].LTarget != nodeNameAttribute || tg.Constraints[1].RTarget != "n1") {
		t.Errorf("constraints %+v, want the node name pinned to n1 second", tg.Constraints)
	}
	if got := deref(findGroup(res.Job, "detect").Count); got != 0 {
		t.Errorf("template group count %d, want 0", got)
	}
	if len(res.Plan.Unplaced) != 1 || res.Plan.Unplaced[0].CameraID != "cam-x" {
		t.Errorf("unplaced %+v, want cam-x without holder", res.Plan.Unplaced)
	}
	if got := findGroup(res.Job, "detect").Meta[MetaPlanHash]; got != res.Hash || res.Hash == "" {
		t.Errorf("template group meta %s = %q, want hash %q", MetaPlanHash, got, res.Hash)
	}
	if _, ok := res.Job.Meta[MetaPlanHash]; ok {
		t.Errorf("job meta has %s, want it only on the template group", MetaPlanHash)
	}
}

func TestExpandErrors(t *testing.T) {
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	tests := []struct {
		name string
		meta map[string]string
		want []string
	}{
		{"selector matches nothing", map[string]string{MetaSelector: "site=nowhere"}, []string{`"nowhere"`, "matches no camera"}},
		{"reversed time range", map[string]string{MetaTimeRange: "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"}, []string{MetaTimeRange, "reversed"}},
		{"time range not rfc3339", map[string]string{MetaTimeRange: "yesterday/today"}, []string{MetaTimeRange, "RFC 3339"}},
		{"unknown locality", map[string]string{MetaLocality: "nearby"}, []string{MetaLocality, `"nearby"`}},
		{"unknown selector key", map[string]string{MetaSelector: "zone=a"}, []string{MetaSelector, `"zone"`}},
		{"missing template group", map[string]string{MetaTemplate: "other"}, []string{MetaTemplate, `"other"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Expand(templateJob(tt.meta), cat, testNodes("n1"))
			if err == nil {
				t.Fatalf("Expand succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}
