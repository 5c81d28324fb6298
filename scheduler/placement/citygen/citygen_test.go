package citygen

import (
	"reflect"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	c := Config{Sites: 3, Nodes: 12, Cameras: 40, Hours: 4, Seed: 9}
	in, err := Build(c)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	again, err := Build(c)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if !reflect.DeepEqual(in, again) {
		t.Errorf("two builds from one config differ")
	}
	if len(in.Nodes) != 12 || len(in.Cameras) != 40 || len(in.Groups) != 160 {
		t.Errorf("got %d nodes, %d cameras, %d groups; want 12, 40, 160", len(in.Nodes), len(in.Cameras), len(in.Groups))
	}
	for _, h := range in.Holdings {
		// 1 to 8 Mbit/s for one hour.
		if h.Bytes < 1e6/8*3600 || h.Bytes > 8e6/8*3600 {
			t.Errorf("holding of %q has %d bytes, outside 1 to 8 Mbit/s for an hour", h.CameraID, h.Bytes)
		}
	}
	if len(in.Holdings) <= 160 {
		t.Errorf("%d holdings for 160 recordings: no replicas", len(in.Holdings))
	}
}

func TestBuildInvalid(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		wantErr string
	}{
		{"fewer nodes than sites", Config{Sites: 5, Nodes: 3}, "3 nodes cannot fill 5 sites"},
		{"negative cameras", Config{Cameras: -1}, "must all be positive"},
		{"replica share above one", Config{ReplicaShare: 2}, "replica share 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
