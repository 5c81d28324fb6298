package placement

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPlaceInvalidInput(t *testing.T) {
	valid := func() Input {
		return Input{
			Nodes:    []Node{node("a", "s1", 1000)},
			Cameras:  []Camera{camera("c1")},
			Holdings: []Holding{hold("c1", "a", 0, 100)},
			Groups:   []Group{group("g1", "c1", 0, 500)},
		}
	}
	tests := []struct {
		name    string
		mutate  func(*Input)
		wantErr string
	}{
		{"reversed group range", func(in *Input) {
			in.Groups[0].Range = TimeRange{Start: hour(3).Start, End: hour(1).Start}
		}, `group "g1": time range [2026-12-04T03:00:00Z, 2026-12-04T01:00:00Z) is reversed`},
		{"empty group range", func(in *Input) {
			in.Groups[0].Range = TimeRange{Start: hour(3).Start, End: hour(3).Start}
		}, `group "g1": time range [2026-12-04T03:00:00Z, 2026-12-04T03:00:00Z) is empty`},
		{"half-open group range", func(in *Input) {
			in.Groups[0].Range = TimeRange{Start: hour(3).Start}
		}, "both start and end must be set"},
		{"reversed holding range", func(in *Input) {
			in.Holdings[0].Range = TimeRange{Start: hour(3).Start, End: hour(1).Start}
		}, `holding of camera "c1" on node "a"`},
		{"unknown camera", func(in *Input) {
			in.Groups[0].CameraID = "c9"
		}, `camera "c9" is not in the input's cameras`},
		{"duplicate group", func(in *Input) {
			in.Groups = append(in.Groups, in.Groups[0])
		}, `group "g1" is listed twice`},
		{"duplicate node", func(in *Input) {
			in.Nodes = append(in.Nodes, in.Nodes[0])
		}, `node "a" is listed twice`},
		{"unknown locality", func(in *Input) {
			in.Groups[0].Locality = "nearby"
		}, `locality "nearby" is unknown`},
		{"negative demand", func(in *Input) {
			in.Groups[0].CPUMHz = -1
		}, "must not be negative"},
		{"negative bytes", func(in *Input) {
			in.Holdings[0].Bytes = -5
		}, "bytes -5 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.mutate(&in)
			p, err := Place(in, Options{})
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("error %v, want ErrInvalidInput", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q does not contain %q", err, tc.wantErr)
			}
			if len(p.Placements)+len(p.Unplaced) != 0 {
				t.Errorf("plan has decisions despite the error")
			}
		})
	}
}

func TestTimeRangeOverlaps(t *testing.T) {
	tests := []struct {
		name string
		a, b TimeRange
		want bool
	}{
		{"same hour", hour(1), hour(1), true},
		{"adjacent hours", hour(1), hour(2), false},
		{"zero overlaps all", TimeRange{}, hour(5), true},
		{"inner", TimeRange{Start: hour(1).Start.Add(time.Minute), End: hour(1).Start.Add(2 * time.Minute)}, hour(1), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.overlaps(tc.b); got != tc.want {
				t.Errorf("%s overlaps %s = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
