package placement

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestExpandGroups(t *testing.T) {
	cameras := []Camera{
		{ID: "c1", Site: "s1", Tags: []string{"downtown", "ptz"}},
		{ID: "c2", Site: "s2", Tags: []string{"downtown"}},
		{ID: "c3", Site: "s1", Tags: []string{"harbour"}},
	}
	holdings := []Holding{
		hold("c1", "a", 1, 10), hold("c1", "a", 0, 10), hold("c1", "b", 0, 10),
		hold("c2", "b", 0, 10), hold("c3", "a", 0, 10),
	}
	tests := []struct {
		name    string
		sel     Selector
		tmpl    GroupTemplate
		wantIDs []string
		wantErr string
	}{
		{
			name:    "per camera by tag",
			sel:     Selector{Tags: []string{"downtown"}},
			tmpl:    GroupTemplate{Name: "motion"},
			wantIDs: []string{"motion/c1", "motion/c2"},
		},
		{
			name:    "per recording by site",
			sel:     Selector{Sites: []string{"s1"}, Tags: []string{"ptz"}},
			tmpl:    GroupTemplate{Name: "motion", PerRecording: true},
			wantIDs: []string{"motion/c1/2026-12-04T00:00:00Z", "motion/c1/2026-12-04T01:00:00Z"},
		},
		{
			name:    "per recording within range",
			sel:     Selector{Tags: []string{"ptz"}},
			tmpl:    GroupTemplate{Name: "motion", PerRecording: true, Range: hour(1)},
			wantIDs: []string{"motion/c1/2026-12-04T01:00:00Z"},
		},
		{
			name:    "selector matching nothing",
			sel:     Selector{Sites: []string{"s1"}, Tags: []string{"airport"}},
			tmpl:    GroupTemplate{Name: "motion"},
			wantErr: `selector with sites ["s1"] and tags ["airport"] matches none of 3 cameras`,
		},
		{
			name:    "reversed template range",
			sel:     Selector{},
			tmpl:    GroupTemplate{Name: "motion", Range: TimeRange{Start: hour(2).Start, End: hour(1).Start}},
			wantErr: "is reversed",
		},
		{
			name:    "missing name",
			tmpl:    GroupTemplate{},
			wantErr: "group template name is empty",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			groups, err := ExpandGroups(cameras, holdings, tc.sel, tc.tmpl)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrInvalidInput containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ExpandGroups: %v", err)
			}
			var ids []string
			for _, g := range groups {
				ids = append(ids, g.ID)
			}
			if !slices.Equal(ids, tc.wantIDs) {
				t.Errorf("group ids %q, want %q", ids, tc.wantIDs)
			}
		})
	}
}
