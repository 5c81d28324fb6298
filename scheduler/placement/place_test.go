package placement

import (
	"testing"
)

func TestPlace(t *testing.T) {
	cams := []Camera{camera("c1"), camera("c2")}
	tests := []struct {
		name  string
		in    Input
		wants map[string]want
	}{
		{
			name: "holder has room",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 5000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "a", reason: ReasonLocal}},
		},
		{
			name: "holder full with a same-site peer",
			in: Input{
				Nodes:    []Node{node("a", "s1", 400), node("b", "s1", 1000), node("c", "s2", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonSameSite, moved: 100}},
		},
		{
			name: "only remote",
			in: Input{
				Nodes:    []Node{node("a", "s1", 400), node("c", "s2", 1000), node("d", "s3", 2000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "d", reason: ReasonRemote, moved: 100, acrossSites: 100}},
		},
		{
			name: "replicas with one down",
			in: Input{
				Nodes:   []Node{node("a", "s1", 9000), node("b", "s2", 1000)},
				Cameras: cams,
				Holdings: []Holding{
					{CameraID: "c1", NodeID: "a", Range: hour(0), Bytes: 100, Unhealthy: true},
					hold("c1", "b", 0, 100),
				},
				Groups: []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonLocal}},
		},
		{
			name: "least loaded of two replicas",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s2", 2000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c1", "b", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonLocal}},
		},
		{
			name: "required before preferred on a holder",
			in: Input{
				Nodes:    []Node{node("a", "s1", 600), node("b", "s1", 1000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c1", "a", 1, 900)},
				Groups:   []Group{group("pref", "c1", 1, 500), required(group("req", "c1", 0, 500))},
			},
			wants: map[string]want{
				"req":  {node: "a", reason: ReasonLocal},
				"pref": {node: "b", reason: ReasonSameSite, moved: 900},
			},
		},
		{
			name: "required with holder full",
			in: Input{
				Nodes:    []Node{node("a", "s1", 400), node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{required(group("req", "c1", 0, 500))},
			},
			wants: map[string]want{"req": {node: "a", reason: ReasonQueued}},
		},
		{
			name: "original beats roomier replica",
			in: Input{
				Nodes:   []Node{node("a", "s1", 9000), node("b", "s1", 1000)},
				Cameras: cams,
				Holdings: []Holding{
					{CameraID: "c1", NodeID: "a", Range: hour(0), Bytes: 100, Replica: true},
					hold("c1", "b", 0, 100),
				},
				Groups: []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonLocal}},
		},
		{
			name: "replica when original full",
			in: Input{
				Nodes:   []Node{node("a", "s1", 9000), node("b", "s1", 400)},
				Cameras: cams,
				Holdings: []Holding{
					{CameraID: "c1", NodeID: "a", Range: hour(0), Bytes: 100, Replica: true},
					hold("c1", "b", 0, 100),
				},
				Groups: []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "a", reason: ReasonLocal}},
		},
		{
			name: "required with holder ineligible",
			in: Input{
				Nodes:    []Node{ineligible(node("a", "s1", 9000)), node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{required(group("req", "c1", 0, 500))},
			},
			wants: map[string]want{"req": {reason: ReasonHoldersFull}},
		},
		{
			name: "required beyond holder room all placed",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c2", "a", 0, 100)},
				Groups:   []Group{required(group("r1", "c1", 0, 1000)), required(group("r2", "c2", 0, 1000))},
			},
			wants: map[string]want{"r1": {node: "a", reason: ReasonLocal}, "r2": {node: "a", reason: ReasonQueued}},
		},
		{
			name: "idle group takes no room",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c2", "a", 0, 100)},
				Groups:   []Group{idle(required(group("r1", "c1", 0, 1000))), required(group("r2", "c2", 0, 1000))},
			},
			wants: map[string]want{"r1": {node: "a", reason: ReasonLocal}, "r2": {node: "a", reason: ReasonLocal}},
		},
		{
			name: "larger data keeps the holder",
			in: Input{
				Nodes:    []Node{node("a", "s1", 600), node("b", "s1", 1000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c1", "a", 1, 900)},
				Groups:   []Group{group("small", "c1", 0, 500), group("large", "c1", 1, 500)},
			},
			wants: map[string]want{
				"large": {node: "a", reason: ReasonLocal},
				"small": {node: "b", reason: ReasonSameSite, moved: 100},
			},
		},
		{
			name: "smaller data first when the site is short",
			in: Input{
				Nodes:   []Node{node("a", "s1", 0), node("b", "s1", 600), node("c", "s2", 1000)},
				Cameras: cams,
				Holdings: []Holding{
					hold("c1", "a", 0, 900), hold("c1", "a", 1, 100),
				},
				Groups: []Group{group("large", "c1", 0, 500), group("small", "c1", 1, 500)},
			},
			wants: map[string]want{
				"small": {node: "b", reason: ReasonSameSite, moved: 100},
				"large": {node: "c", reason: ReasonRemote, moved: 900, acrossSites: 900},
			},
		},
		{
			name: "ineligible holder still serves data",
			in: Input{
				Nodes: []Node{
					{ID: "a", Site: "s1", CPUMHz: 10000, MemoryMB: 8192},
					node("b", "s1", 1000),
				},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonSameSite, moved: 100}},
		},
		{
			name: "partial holder moves the least",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 2000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 1000), hold("c1", "b", 1, 100)},
				Groups:   []Group{{ID: "all", CameraID: "c1", CPUMHz: 500, MemoryMB: 100}},
			},
			wants: map[string]want{"all": {node: "a", reason: ReasonPartial, moved: 100}},
		},
		{
			name: "no healthy holder",
			in: Input{
				Nodes:   []Node{node("a", "s1", 1000)},
				Cameras: cams,
				Holdings: []Holding{
					{CameraID: "c1", NodeID: "a", Range: hour(0), Bytes: 100, Unhealthy: true},
					hold("c1", "gone", 0, 100),
				},
				Groups: []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {reason: ReasonNoHolder}},
		},
		{
			name: "required data split across nodes",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 2000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 1000), hold("c1", "b", 1, 100)},
				Groups:   []Group{{ID: "all", CameraID: "c1", CPUMHz: 500, Locality: LocalityRequired}},
			},
			wants: map[string]want{"all": {reason: ReasonNoHolder}},
		},
		{
			name: "no node has room",
			in: Input{
				Nodes:    []Node{node("a", "s1", 100), node("b", "s2", 100)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 500)},
			},
			wants: map[string]want{"g1": {reason: ReasonNoCapacity}},
		},
		{
			name: "group range selects overlapping recordings",
			in: Input{
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 2000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c1", "b", 1, 100), hold("c1", "b", 2, 100)},
				Groups: []Group{{ID: "g1", CameraID: "c1", CPUMHz: 500,
					Range: TimeRange{Start: hour(1).Start, End: hour(2).End}}},
			},
			wants: map[string]want{"g1": {node: "b", reason: ReasonLocal}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Place(tc.in, Options{})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			checkPlan(t, p, tc.wants)
		})
	}
}
