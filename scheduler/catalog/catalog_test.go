package catalog

import (
	"reflect"
	"testing"

	"github.com/hashicorp/consul/api"
)

func entry(consulNode string, meta map[string]string, tags ...string) *api.ServiceEntry {
	return &api.ServiceEntry{
		Node:    &api.Node{Node: consulNode},
		Service: &api.AgentService{Service: "camera-storage", Tags: tags, Meta: meta},
	}
}

func TestFromEntries(t *testing.T) {
	cases := []struct {
		name    string
		entries []*api.ServiceEntry
		want    Holdings
	}{
		{
			name:    "node meta names the node",
			entries: []*api.ServiceEntry{entry("consul-1", map[string]string{"node": "edge-1", "site": "downtown"}, "camera:b", "camera:a", "other")},
			want:    Holdings{"edge-1": {Site: "downtown", Cameras: []string{"a", "b"}}},
		},
		{
			name:    "consul node name as fallback",
			entries: []*api.ServiceEntry{entry("consul-2", nil, "camera:c")},
			want:    Holdings{"consul-2": {Cameras: []string{"c"}}},
		},
		{
			name: "two services of one node merge",
			entries: []*api.ServiceEntry{
				entry("x", map[string]string{"node": "edge-1"}, "camera:a"),
				entry("x", map[string]string{"node": "edge-1"}, "camera:a", "camera:z"),
			},
			want: Holdings{"edge-1": {Cameras: []string{"a", "z"}}},
		},
		{name: "none", entries: nil, want: Holdings{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromEntries(tc.entries); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromEntries = %v, want %v", got, tc.want)
			}
		})
	}
}
