package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/ferry-video/ferry/scheduler/service"
)

// collectKeys adds every object key in v, at any depth, to keys.
func collectKeys(v any, keys map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			keys[k] = true
			collectKeys(child, keys)
		}
	case []any:
		for _, child := range v {
			collectKeys(child, keys)
		}
	}
}

func TestJSONOutputSnakeCase(t *testing.T) {
	status := service.JobStatus{
		Job: "detect", Hash: "abc",
		Placements: []placement.Placement{{GroupID: "detect/cam-a", CameraID: "cam-a", NodeID: "n1", Reason: placement.ReasonLocal, Local: true}},
		Unplaced:   []placement.Unplaced{{GroupID: "detect/cam-b", CameraID: "cam-b", Reason: service.ReasonNoRecordingsInRange, Detail: "no holder"}},
		Kept:       []service.GroupChange{{Group: "detect-cam-c", Camera: "cam-c", Reason: service.ReasonMissing, Detail: "d"}},
		Removed:    []service.GroupChange{{Group: "detect-cam-d", Camera: "cam-d", Reason: service.ReasonGone, Detail: "d"}},
	}
	report := service.Report{
		Holders:  map[string][]string{"cam-a": {"n1"}},
		Groups:   []service.GroupReport{{Job: "detect", Group: "detect-cam-a", Allocs: []service.AllocReport{{ID: "x", Node: "n1", ClientStatus: "failed", Reason: "r"}}, Problem: "p"}},
		Unplaced: []service.CameraReport{{Job: "detect", Camera: "cam-b", Reason: "no_recordings_in_range"}},
	}
	for name, v := range map[string]any{"plan": planOutput{WouldRegister: true, JobStatus: status}, "status": report} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeJSON(&out, v); err != nil {
				t.Fatal(err)
			}
			var decoded any
			if err := json.Unmarshal(out.Bytes(), &decoded); err != nil {
				t.Fatal(err)
			}
			keys := make(map[string]bool)
			collectKeys(decoded, keys)
			for key := range keys {
				// Holders are keyed by camera id, which is data.
				if key == "cam-a" {
					continue
				}
				if strings.ToLower(key) != key || strings.Contains(key, "-") {
					t.Errorf("JSON key %q is not snake_case", key)
				}
			}
			for _, want := range []string{"camera_id", "node_id", "reason"} {
				if name == "plan" && !keys[want] {
					t.Errorf("plan JSON has no key %q", want)
				}
			}
		})
	}
}

func TestStatusTextShowsKeptGroup(t *testing.T) {
	rep := service.Report{Groups: []service.GroupReport{{
		Job: "detect", Group: "detect-cam-a", Camera: "cam-a", Node: "edge-1", Reason: "local", Local: true,
		Kept: &service.GroupChange{Group: "detect-cam-a", Camera: "cam-a", Reason: service.ReasonMissing, Detail: `the catalog does not list camera "cam-a"`},
	}}}
	var out bytes.Buffer
	if err := writeStatusText(&out, rep); err != nil {
		t.Fatal(err)
	}
	want := `kept: group "detect-cam-a" of job "detect" stays on "edge-1" without a placement: camera_missing: the catalog does not list camera "cam-a"`
	if !strings.Contains(out.String(), want) {
		t.Errorf("status text %q, want the line %q", out.String(), want)
	}
}
