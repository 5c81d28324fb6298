package service

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/scheduler/catalog"
)

// detailed returns a catalog in which each node holds each listed camera
// with the given detail.
func detailed(byNode map[string]map[string]CameraDetail) Catalog {
	cat := Catalog{Holdings: make(catalog.Holdings), Details: byNode}
	for node, cameras := range byNode {
		h := catalog.Holding{Site: "s1"}
		for camera := range cameras {
			h.Cameras = append(h.Cameras, camera)
		}
		cat.Holdings[node] = h
	}
	return cat
}

func span(first, last time.Time, tags ...string) CameraDetail {
	return CameraDetail{Bytes: 1000, Recordings: 3, First: &first, Last: &last, Tags: tags}
}

func TestExpandTimeRangeNarrowsHolders(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cat := detailed(map[string]map[string]CameraDetail{
		// n1 has cam-a's first day only, n2 its second day.
		"n1": {"cam-a": span(day, day.Add(23*time.Hour)), "cam-b": span(day, day.Add(time.Hour))},
		"n2": {"cam-a": span(day.Add(24*time.Hour), day.Add(47*time.Hour))},
	})
	secondDay := "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z"
	res := mustExpand(t, templateJob(map[string]string{MetaTimeRange: secondDay}), cat, testNodes("n1", "n2"))

	groups := expandedGroups(res.Job)
	if tg := groups["cam-a"]; tg == nil || tg.Meta[GroupMetaNode] != "n2" {
		t.Errorf("cam-a group %v, want it pinned to n2, the only holder of the second day", tg)
	}
	if groups["cam-b"] != nil {
		t.Errorf("cam-b has a group, want none because it has no recordings on the second day")
	}
	var found bool
	for _, u := range res.Plan.Unplaced {
		if u.CameraID != "cam-b" {
			continue
		}
		found = true
		if u.Reason != ReasonNoRecordingsInRange {
			t.Errorf("cam-b reason %q, want %q", u.Reason, ReasonNoRecordingsInRange)
		}
		if !strings.Contains(u.Detail, "n1 has recordings from 2026-01-01T00:00:00Z") {
			t.Errorf("cam-b detail %q, want the holder's span", u.Detail)
		}
	}
	if !found {
		t.Errorf("unplaced %+v, want cam-b", res.Plan.Unplaced)
	}
	if res.Plan.Totals.Unplaced != 1 {
		t.Errorf("totals unplaced %d, want 1", res.Plan.Totals.Unplaced)
	}

	// A camera whose group exists loses it when the range leaves it out.
	whole := mustExpand(t, templateJob(nil), cat, testNodes("n1", "n2"))
	whole.Job.Meta[MetaTimeRange] = secondDay
	narrowed := mustExpand(t, whole.Job, cat, testNodes("n1", "n2"))
	if expandedGroups(narrowed.Job)["cam-b"] != nil {
		t.Errorf("cam-b group kept after the range left it out")
	}
	if len(narrowed.Removed) != 1 || narrowed.Removed[0].Reason != ReasonNoRecordingsInRange {
		t.Errorf("removed %+v, want cam-b with reason %q", narrowed.Removed, ReasonNoRecordingsInRange)
	}
}

func TestExpandTimeRangeMissingDetail(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secondDay := "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z"
	// cam-a's holder n1 has no KV document yet, and cam-b's holder n1 has
	// only the first day, while n2's cam-b document is not written yet.
	cat := detailed(map[string]map[string]CameraDetail{
		"n1": {"cam-b": span(day, day.Add(time.Hour))},
	})
	cat.Holdings["n1"] = catalog.Holding{Site: "s1", Cameras: []string{"cam-a", "cam-b"}}
	cat.Holdings["n2"] = catalog.Holding{Site: "s1", Cameras: []string{"cam-b"}}
	res := mustExpand(t, templateJob(map[string]string{MetaTimeRange: secondDay}), cat, testNodes("n1", "n2"))

	groups := expandedGroups(res.Job)
	for _, camera := range []string{"cam-a", "cam-b"} {
		t.Run(camera, func(t *testing.T) {
			if groups[camera] != nil {
				t.Errorf("%s has a group, want none until its holders' KV documents exist", camera)
			}
			var reason string
			for _, u := range res.Plan.Unplaced {
				if u.CameraID == camera {
					reason = string(u.Reason)
				}
			}
			if reason != string(ReasonDetailMissing) {
				t.Errorf("%s unplaced reason %q, want %q", camera, reason, ReasonDetailMissing)
			}
		})
	}

	// An existing group stays while its holder's document is missing.
	whole := mustExpand(t, templateJob(nil), cat, testNodes("n1", "n2"))
	whole.Job.Meta[MetaTimeRange] = secondDay
	ranged := mustExpand(t, whole.Job, cat, testNodes("n1", "n2"))
	if expandedGroups(ranged.Job)["cam-a"] == nil {
		t.Errorf("cam-a group removed, want it kept while n1's KV document is missing")
	}
	if len(ranged.Removed) != 0 {
		t.Errorf("removed %+v, want none", ranged.Removed)
	}

	// Without a time range, a holder without a document still counts.
	plain := mustExpand(t, templateJob(nil), cat, testNodes("n1", "n2"))
	if expandedGroups(plain.Job)["cam-a"] == nil {
		t.Errorf("cam-a has no group without a time range, want one")
	}
}

func TestExpandTagSelectsCameraTags(t *testing.T) {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cat := detailed(map[string]map[string]CameraDetail{
		"n1": {"cam-a": span(day, day, "entrance"), "cam-b": span(day, day, "parking")},
		"n2": {"cam-a": span(day, day, "plates"), "cam-c": span(day, day)},
	})
	tests := []struct {
		selector string
		want     []string
	}{
		{"tag=entrance", []string{"cam-a"}},
		{"tag=plates", []string{"cam-a"}},
		{"tag=entrance,plates", []string{"cam-a"}},
		{"tag=parking", []string{"cam-b"}},
		{"site=s1;tag=parking", []string{"cam-b"}},
	}
	for _, tt := range tests {
		t.Run(tt.selector, func(t *testing.T) {
			res := mustExpand(t, templateJob(map[string]string{MetaSelector: tt.selector}), cat, testNodes("n1", "n2"))
			groups := expandedGroups(res.Job)
			if len(groups) != len(tt.want) {
				t.Errorf("%d groups, want %v", len(groups), tt.want)
			}
			for _, camera := range tt.want {
				if groups[camera] == nil {
					t.Errorf("no group for %q", camera)
				}
			}
		})
	}

	_, err := Expand(templateJob(map[string]string{MetaSelector: "tag=s1"}), cat, testNodes("n1", "n2"))
	if err == nil || !strings.Contains(err.Error(), "matches no camera") || !strings.Contains(err.Error(), `"tag=s1"`) {
		t.Errorf("tag=s1 error %v, want a selector error naming the value, because sites are not tags", err)
	}
}

func TestExpandSelectorChangeRemovesGroup(t *testing.T) {
	cat := holdings(map[string][]string{"n1": {"cam-a", "cam-b"}})
	first := mustExpand(t, templateJob(nil), cat, testNodes("n1"))
	first.Job.Meta[MetaSelector] = "cameras=cam-b"
	res := mustExpand(t, first.Job, cat, testNodes("n1"))
	if expandedGroups(res.Job)["cam-a"] != nil {
		t.Errorf("cam-a group kept after the selector dropped it")
	}
	if len(res.Removed) != 1 || res.Removed[0].Reason != ReasonNotSelected {
		t.Errorf("removed %+v, want cam-a with reason %q", res.Removed, ReasonNotSelected)
	}
}

func TestParseSpecBadInput(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		want []string
	}{
		{"reversed range", map[string]string{MetaTimeRange: "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"}, []string{MetaTimeRange, `"2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"`, "reversed"}},
		{"empty range", map[string]string{MetaTimeRange: "2026-01-02T00:00:00Z/2026-01-02T00:00:00Z"}, []string{MetaTimeRange, `"2026-01-02T00:00:00Z/2026-01-02T00:00:00Z"`, "empty"}},
		{"camera id with space", map[string]string{MetaSelector: "cameras=north gate"}, []string{MetaSelector, `"north gate"`, catalog.SanitizeID("north gate")}},
		{"camera id with colon", map[string]string{MetaSelector: "cameras=cam:1"}, []string{`"cam:1"`, catalog.SanitizeID("cam:1")}},
		{"site clause twice", map[string]string{MetaSelector: "site=downtown;site=harbour"}, []string{MetaSelector, `"site=harbour"`, "site=a,b"}},
		{"cameras clause twice", map[string]string{MetaSelector: "cameras=a;camera=b"}, []string{`"camera=b"`, "cameras=a,b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSpec(templateJob(tt.meta))
			if err == nil {
				t.Fatalf("ParseSpec succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestJobStatusJSONFieldNames(t *testing.T) {
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	job := templateJob(map[string]string{MetaSelector: "cameras=cam-a,cam-x"})
	res := mustExpand(t, job, cat, testNodes("n1"))
	data, err := json.Marshal(jobStatus(res, nil, "detect"))
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Placements []map[string]any `json:"placements"`
		Unplaced   []map[string]any `json:"unplaced"`
		Totals     map[string]any   `json:"totals"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatal(err)
	}
	if len(shape.Placements) != 1 || len(shape.Unplaced) != 1 {
		t.Fatalf("JSON %s, want one placement and one unplaced group", data)
	}
	checkKeys(t, "placement", shape.Placements[0], "group_id", "camera_id", "node_id", "site", "local", "bytes_moved", "bytes_moved_across_sites", "reason")
	checkKeys(t, "unplaced", shape.Unplaced[0], "group_id", "camera_id", "reason", "detail")
	checkKeys(t, "totals", shape.Totals, "placed", "local", "unplaced", "kept", "moved", "bytes_moved", "bytes_moved_across_sites")
}

// checkKeys checks that obj has exactly the keys want, all snake_case.
func checkKeys(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	for _, key := range want {
		if _, ok := obj[key]; !ok {
			t.Errorf("%s JSON has no key %q: %v", what, key, obj)
		}
	}
	for key := range obj {
		if strings.ToLower(key) != key {
			t.Errorf("%s JSON key %q is not snake_case", what, key)
		}
	}
	if len(obj) != len(want) {
		t.Errorf("%s JSON has keys %v, want %v", what, obj, want)
	}
}

func TestExpandReplanTouchesOnlyMovedGroup(t *testing.T) {
	nodes := testNodes("n1", "n2")
	first := mustExpand(t, templateJob(nil), holdings(map[string][]string{"n1": {"cam-a"}, "n2": {"cam-b"}}), nodes)
	second := mustExpand(t, first.Job, holdings(map[string][]string{"n2": {"cam-a", "cam-b"}}), nodes)
	third := mustExpand(t, second.Job, holdings(map[string][]string{"n2": {"cam-a", "cam-b"}}), nodes)

	if !second.Changed {
		t.Fatalf("Changed = false after cam-a moved, want true")
	}
	if third.Changed {
		t.Errorf("Changed = true on the pass after the move, want false")
	}
	encode := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if a, b := encode(first.Job.Meta), encode(second.Job.Meta); a != b {
		t.Errorf("job meta changed from %s to %s, which would make Nomad replace every group", a, b)
	}
	if a, b := encode(expandedGroups(first.Job)["cam-b"]), encode(expandedGroups(second.Job)["cam-b"]); a != b {
		t.Errorf("cam-b group changed although cam-b did not move:\n%s\n%s", a, b)
	}
}
