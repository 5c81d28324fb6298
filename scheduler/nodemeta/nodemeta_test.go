package nodemeta

import (
	"reflect"
	"testing"

	"github.com/ferry-video/ferry/scheduler/catalog"
)

func ptr(s string) *string { return &s }

func TestPlan(t *testing.T) {
	holdings := catalog.Holdings{
		"edge-1": {Site: "downtown", Cameras: []string{"cam-b", "cam-a", "cam-b"}},
		"edge-2": {Site: "harbour", Cameras: []string{"cam-c"}},
		"edge-4": {Site: "harbour"},
	}
	cases := []struct {
		name  string
		nodes []Node
		want  []Change
	}{
		{
			name:  "new holder gets both keys",
			nodes: []Node{{ID: "id-1", Name: "edge-1"}},
			want: []Change{{NodeID: "id-1", NodeName: "edge-1", Meta: map[string]*string{
				KeyCameras: ptr("cam-a,cam-b"), KeySite: ptr("downtown"),
			}}},
		},
		{
			name:  "node in line gets nothing",
			nodes: []Node{{ID: "id-2", Name: "edge-2", Meta: map[string]string{KeyCameras: "cam-c", KeySite: "harbour", "other": "x"}}},
		},
		{
			name:  "changed cameras only",
			nodes: []Node{{ID: "id-2", Name: "edge-2", Meta: map[string]string{KeyCameras: "cam-x", KeySite: "harbour"}}},
			want:  []Change{{NodeID: "id-2", NodeName: "edge-2", Meta: map[string]*string{KeyCameras: ptr("cam-c")}}},
		},
		{
			name:  "vanished holder loses keys",
			nodes: []Node{{ID: "id-3", Name: "edge-3", Meta: map[string]string{KeyCameras: "cam-a", KeySite: "downtown", "other": "x"}}},
			want:  []Change{{NodeID: "id-3", NodeName: "edge-3", Meta: map[string]*string{KeyCameras: nil, KeySite: nil}}},
		},
		{
			name:  "node never held anything",
			nodes: []Node{{ID: "id-5", Name: "edge-5", Meta: map[string]string{"other": "x"}}},
		},
		{
			name:  "holder of no cameras gets empty list",
			nodes: []Node{{ID: "id-4", Name: "edge-4"}},
			want: []Change{{NodeID: "id-4", NodeName: "edge-4", Meta: map[string]*string{
				KeyCameras: ptr(""), KeySite: ptr("harbour"),
			}}},
		},
		{
			name: "ordered by node name",
			nodes: []Node{
				{ID: "id-3", Name: "edge-3", Meta: map[string]string{KeySite: "x"}},
				{ID: "id-1", Name: "edge-1", Meta: map[string]string{KeyCameras: "cam-a,cam-b"}},
			},
			want: []Change{
				{NodeID: "id-1", NodeName: "edge-1", Meta: map[string]*string{KeySite: ptr("downtown")}},
				{NodeID: "id-3", NodeName: "edge-3", Meta: map[string]*string{KeySite: nil}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(holdings, tc.nodes)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan = %s, want %s", describe(got), describe(tc.want))
			}
		})
	}
}

func describe(changes []Change) string {
	out := "["
	for _, c := range changes {
		out += c.NodeName + "{"
		for k, v := range c.Meta {
			if v == nil {
				out += k + ":<unset> "
			} else {
				out += k + ":" + *v + " "
			}
		}
		out += "}"
	}
	return out + "]"
}
