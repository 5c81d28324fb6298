package placement

import (
	"slices"
	"strings"
	"testing"
)

func TestReplan(t *testing.T) {
	cams := []Camera{camera("c1"), camera("c2")}
	tests := []struct {
		name      string
		previous  Plan
		in        Input
		wants     map[string]want
		wantMoved int
		wantKept  int
		// wantDetail is a substring of g1's detail, when set.
		wantDetail string
	}{
		{
			name:     "holder disappears before anything else",
			previous: Plan{Placements: []Placement{{GroupID: "g1", NodeID: "a", Local: true, Reason: ReasonLocal}}},
			in: Input{
				// Node a left. Node b has room for one group: the group that
				// lost its holder gets it ahead of c2's larger recording.
				Nodes:   []Node{node("b", "s1", 500), node("c", "s1", 400)},
				Cameras: cams,
				Holdings: []Holding{
					hold("c1", "a", 0, 100), hold("c1", "b", 0, 100),
					hold("c2", "b", 0, 5000),
				},
				Groups: []Group{group("g1", "c1", 0, 400), group("g2", "c2", 0, 400)},
			},
			wants: map[string]want{
				"g1": {node: "b", reason: ReasonReplica},
				"g2": {node: "c", reason: ReasonSameSite, moved: 5000},
			},
			wantMoved:  1,
			wantDetail: `node "a" left`,
		},
		{
			name:     "unhealthy holder moves to replica",
			previous: Plan{Placements: []Placement{{GroupID: "g1", NodeID: "a", Local: true, Reason: ReasonLocal}}},
			in: Input{
				Nodes:   []Node{node("a", "s1", 9000), node("b", "s2", 1000)},
				Cameras: cams,
				Holdings: []Holding{
					{CameraID: "c1", NodeID: "a", Range: hour(0), Bytes: 100, Unhealthy: true},
					hold("c1", "b", 0, 100),
				},
				Groups: []Group{group("g1", "c1", 0, 400)},
			},
			wants:      map[string]want{"g1": {node: "b", reason: ReasonReplica}},
			wantMoved:  1,
			wantDetail: `node "a" no longer holds the data`,
		},
		{
			name:     "drained node moves its group",
			previous: Plan{Placements: []Placement{{GroupID: "g1", NodeID: "a", Local: false, Reason: ReasonSameSite}}},
			in: Input{
				Nodes:    []Node{{ID: "a", Site: "s1", CPUMHz: 9000, MemoryMB: 8192}, node("b", "s1", 1000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "b", 0, 100)},
				Groups:   []Group{group("g1", "c1", 0, 400)},
			},
			wants:      map[string]want{"g1": {node: "b", reason: ReasonLocal}},
			wantMoved:  1,
			wantDetail: `node "a" is ineligible`,
		},
		{
			name: "only what must move moves",
			previous: Plan{Placements: []Placement{
				{GroupID: "g1", NodeID: "a", Local: true, Reason: ReasonLocal},
				{GroupID: "g2", NodeID: "b", Local: false, Reason: ReasonSameSite},
			}},
			in: Input{
				// Node b now has more room than a, but neither group moves.
				Nodes:    []Node{node("a", "s1", 1000), node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100), hold("c1", "b", 0, 100), hold("c2", "a", 0, 50)},
				Groups:   []Group{group("g1", "c1", 0, 400), group("g2", "c2", 0, 400)},
			},
			wants: map[string]want{
				"g1": {node: "a", reason: ReasonLocal},
				"g2": {node: "b", reason: ReasonSameSite, moved: 50},
			},
			wantKept: 2,
		},
		{
			name:     "required loses its only holder",
			previous: Plan{Placements: []Placement{{GroupID: "g1", NodeID: "a", Local: true, Reason: ReasonLocal}}},
			in: Input{
				Nodes:    []Node{node("b", "s1", 9000)},
				Cameras:  cams,
				Holdings: []Holding{hold("c1", "a", 0, 100)},
				Groups:   []Group{required(group("g1", "c1", 0, 400))},
			},
			wants: map[string]want{"g1": {reason: ReasonNoHolder}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Previous = &tc.previous
			p, err := Place(tc.in, Options{})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			checkPlan(t, p, tc.wants)
			if p.Totals.Moved != tc.wantMoved {
				t.Errorf("moved %d groups, want %d", p.Totals.Moved, tc.wantMoved)
			}
			if p.Totals.Kept != tc.wantKept {
				t.Errorf("kept %d groups, want %d", p.Totals.Kept, tc.wantKept)
			}
			if tc.wantDetail != "" && (len(p.Placements) == 0 || !strings.Contains(p.Placements[0].Detail, tc.wantDetail)) {
				t.Errorf("g1 detail does not contain %q: %+v", tc.wantDetail, p.Placements)
			}
		})
	}
}

// TestReplanStable re-plans a crowded city from its own plan: nothing may
// change.
func TestReplanStable(t *testing.T) {
	in := crowdedCity()
	first, err := Place(in, Options{})
	if err != nil {
		t.Fatalf("first Place: %v", err)
	}
	if first.Totals.Local == first.Totals.Placed {
		t.Fatalf("every group is local; the city must overflow some holders to test stability")
	}

	in.Previous = &first
	second, err := Place(in, Options{})
	if err != nil {
		t.Fatalf("second Place: %v", err)
	}
	if !slices.Equal(first.Placements, second.Placements) {
		t.Errorf("placements changed on an unchanged input")
	}
	if second.Totals.Moved != 0 {
		t.Errorf("moved %d groups, want 0", second.Totals.Moved)
	}
	if second.Totals.Kept != first.Totals.Placed {
		t.Errorf("kept %d groups, want %d", second.Totals.Kept, first.Totals.Placed)
	}
	if second.Totals.BytesMoved != first.Totals.BytesMoved {
		t.Errorf("bytes moved %d, want %d", second.Totals.BytesMoved, first.Totals.BytesMoved)
	}
}

// crowdedCity returns 12 nodes in 3 sites and 30 cameras with 4 hourly
// recordings each, piled on the first node of each site so that those
// nodes overflow.
func crowdedCity() Input {
	var in Input
	sites := []string{"s1", "s2", "s3"}
	for i := range 12 {
		in.Nodes = append(in.Nodes, node(string(rune('a'+i)), sites[i%3], 2000))
	}
	for c := range 30 {
		id := "c" + string(rune('A'+c))
		in.Cameras = append(in.Cameras, camera(id))
		holder := in.Nodes[c%3].ID
		for h := range 4 {
			in.Holdings = append(in.Holdings, hold(id, holder, h, int64(1000+100*c+h)))
			if c%5 == 0 {
				in.Holdings = append(in.Holdings, hold(id, in.Nodes[3+c%9].ID, h, int64(1000+100*c+h)))
			}
			in.Groups = append(in.Groups, group(id+"/"+string(rune('0'+h)), id, h, 100))
		}
	}
	return in
}
