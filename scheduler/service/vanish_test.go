package service

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/go-hclog"
)

func TestAbsenceGone(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		absence Absence
		camera  string
		want    bool
	}{
		{"zero value", Absence{}, "cam-a", false},
		{"listed in last read", Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(time.Hour), Listed: map[string]time.Time{"cam-a": start.Add(time.Hour)}}, "cam-a", false},
		{"missed shorter than grace", Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(90 * time.Second), Listed: map[string]time.Time{"cam-a": start.Add(time.Minute)}}, "cam-a", false},
		{"missed for grace", Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(2 * time.Minute), Listed: map[string]time.Time{"cam-a": start.Add(time.Minute)}}, "cam-a", true},
		{"never listed counts from first read", Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(time.Minute)}, "cam-x", true},
		{"never listed within grace", Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(30 * time.Second)}, "cam-x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.absence.Gone(tt.camera); got != tt.want {
				t.Errorf("Gone(%q) = %v, want %v", tt.camera, got, tt.want)
			}
		})
	}
}

// vanishStep is one catalog read, made after the clock moved by advance.
type vanishStep struct {
	advance time.Duration
	update  catalogUpdate
}

func TestVanishedCameraLosesGroup(t *testing.T) {
	both := holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}})
	onlyB := holdings(map[string][]string{"n2": {"cam-b"}})
	tests := []struct {
		name       string
		steps      []vanishStep
		wantGroups []string
		wantKept   []string
	}{
		{
			name:       "missed within grace keeps group",
			steps:      []vanishStep{{time.Minute, catalogUpdate{catalog: onlyB, index: 2}}, {8 * time.Minute, catalogUpdate{catalog: onlyB, index: 3}}},
			wantGroups: []string{"cam-a", "cam-b"},
			wantKept:   []string{"detect-cam-a"},
		},
		{
			name:       "missed for grace removes group",
			steps:      []vanishStep{{time.Minute, catalogUpdate{catalog: onlyB, index: 2}}, {10 * time.Minute, catalogUpdate{catalog: onlyB, index: 3}}},
			wantGroups: []string{"cam-b"},
		},
		{
			name: "failed reads do not count",
			steps: []vanishStep{
				{time.Minute, catalogUpdate{catalog: onlyB, index: 2}},
				{20 * time.Minute, catalogUpdate{err: errUnreachable}},
			},
			wantGroups: []string{"cam-a", "cam-b"},
			wantKept:   []string{"detect-cam-a"},
		},
		{
			name: "empty read after failures does not count",
			steps: []vanishStep{
				{time.Minute, catalogUpdate{err: errUnreachable}},
				{time.Minute, catalogUpdate{catalog: holdings(nil), index: 1}},
				{20 * time.Second, catalogUpdate{catalog: holdings(nil), index: 2}},
			},
			wantGroups: []string{"cam-a", "cam-b"},
		},
		{
			name: "camera back within grace keeps group",
			steps: []vanishStep{
				{time.Minute, catalogUpdate{catalog: onlyB, index: 2}},
				{5 * time.Minute, catalogUpdate{catalog: both, index: 3}},
				{6 * time.Minute, catalogUpdate{catalog: onlyB, index: 4}},
			},
			wantGroups: []string{"cam-a", "cam-b"},
			wantKept:   []string{"detect-cam-a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cluster := newFakeCluster("n1", "n2")
			cluster.jobs["detect"] = templateJob(nil)
			clock := newFakeClock()
			s := New(Config{EmptyGrace: 2 * time.Minute, VanishGrace: 10 * time.Minute}, nil, cluster, clock, hclog.NewNullLogger())
			var st catalogState
			s.acceptCatalog(catalogUpdate{catalog: both, index: 1}, &st)
			if err := s.Pass(t.Context(), *st.last); err != nil {
				t.Fatalf("first pass: %v", err)
			}

			for _, step := range tt.steps {
				clock.now = clock.now.Add(step.advance)
				s.acceptCatalog(step.update, &st)
				if err := s.Pass(t.Context(), *st.last); err != nil {
					t.Fatalf("pass: %v", err)
				}
			}

			groups := expandedGroups(cluster.jobs["detect"])
			if len(groups) != len(tt.wantGroups) {
				t.Errorf("job has %d expanded groups, want %d (%v)", len(groups), len(tt.wantGroups), tt.wantGroups)
			}
			for _, camera := range tt.wantGroups {
				if groups[camera] == nil {
					t.Errorf("no group for camera %q", camera)
				}
			}
			st2 := s.Status()
			var kept []string
			for _, k := range st2.Jobs[0].Kept {
				kept = append(kept, k.Group)
				if k.Reason == "" || k.Detail == "" {
					t.Errorf("kept group %q has no reason: %+v", k.Group, k)
				}
			}
			if len(kept) != len(tt.wantKept) || (len(kept) > 0 && kept[0] != tt.wantKept[0]) {
				t.Errorf("kept groups %v, want %v", kept, tt.wantKept)
			}
		})
	}
}

func TestVanishedGroupRemovalReported(t *testing.T) {
	both := holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}})
	first := mustExpand(t, templateJob(nil), both, testNodes("n1", "n2"))
	cat := holdings(map[string][]string{"n2": {"cam-b"}})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cat.Absence = Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(2 * time.Minute), Listed: map[string]time.Time{"cam-a": start}}

	res := mustExpand(t, first.Job, cat, testNodes("n1", "n2"))
	if !res.Changed {
		t.Errorf("Changed = false, want true after removing a group")
	}
	if len(res.Removed) != 1 {
		t.Fatalf("removed %+v, want one group", res.Removed)
	}
	if r := res.Removed[0]; r.Group != "detect-cam-a" || r.Reason != ReasonGone || r.Detail == "" {
		t.Errorf("removed %+v, want detect-cam-a with reason %q and a detail", r, ReasonGone)
	}
}

func TestPassNoMatchRemovesOnlyGoneGroups(t *testing.T) {
	cluster := newFakeCluster("n1", "n2")
	first := mustExpand(t, templateJob(nil), holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}), testNodes("n1", "n2"))
	cluster.jobs["detect"] = first.Job
	s := New(Config{}, nil, cluster, newFakeClock(), hclog.NewNullLogger())

	// cam-a is gone for good and cam-b now sits at another site, so
	// site=s1 matches no camera.
	cat := holdings(nil)
	cat.Holdings["n2"] = catalog.Holding{Site: "s2", Cameras: []string{"cam-b"}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cat.Absence = Absence{Grace: time.Minute, FirstRead: start, LastRead: start.Add(time.Hour),
		Listed: map[string]time.Time{"cam-a": start, "cam-b": start.Add(time.Hour)}}
	if err := s.Pass(t.Context(), cat); err != nil {
		t.Fatalf("Pass: %v", err)
	}

	groups := expandedGroups(cluster.jobs["detect"])
	if groups["cam-a"] != nil {
		t.Errorf("cam-a group kept, want it removed because cam-a is gone")
	}
	if groups["cam-b"] == nil {
		t.Errorf("cam-b group removed, want it kept while the selector matches nothing")
	}
	st := s.Status()
	if len(st.Jobs) != 1 || !strings.Contains(st.Jobs[0].Error, "matches no camera") {
		t.Fatalf("status jobs %+v, want one with the selector error", st.Jobs)
	}
	if len(st.Jobs[0].Removed) != 1 || st.Jobs[0].Removed[0].Reason != ReasonGone {
		t.Errorf("removed %+v, want cam-a with reason %q", st.Jobs[0].Removed, ReasonGone)
	}
	if st.Registrations != 1 {
		t.Errorf("registrations = %d, want 1", st.Registrations)
	}
}

// A group of a camera missing from the catalog stays while the camera may
// come back, but not when a cameras= selector can never pick it.
func TestMissingCameraNotNamedRemoved(t *testing.T) {
	both := holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}})
	first := mustExpand(t, templateJob(nil), both, testNodes("n1", "n2"))
	onlyB := holdings(map[string][]string{"n2": {"cam-b"}})

	cases := []struct {
		name       string
		selector   string
		wantReason placement.Reason
		wantRemove bool
	}{
		{"site selector keeps it", "site=s1", ReasonMissing, false},
		{"cameras naming it keeps it", "cameras=cam-a,cam-b", ReasonMissing, false},
		{"cameras without it removes it", "cameras=cam-b", ReasonNotSelected, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := copyJob(first.Job)
			job.Meta[MetaSelector] = tc.selector
			res := mustExpand(t, job, onlyB, testNodes("n1", "n2"))

			changes := res.Kept
			if tc.wantRemove {
				changes = res.Removed
			}
			i := slices.IndexFunc(changes, func(c GroupChange) bool { return c.Camera == "cam-a" })
			if i < 0 {
				t.Fatalf("cam-a not in kept %+v or removed %+v as expected (remove %v)", res.Kept, res.Removed, tc.wantRemove)
			}
			if changes[i].Reason != tc.wantReason {
				t.Errorf("cam-a reason %q, want %q", changes[i].Reason, tc.wantReason)
			}
			if got := expandedGroups(res.Job)["cam-a"] != nil; got == tc.wantRemove {
				t.Errorf("cam-a group in job %v, want %v", got, !tc.wantRemove)
			}
		})
	}
}
