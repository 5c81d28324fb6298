package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// hybridOutput is the part of `ferry-demo --hybrid -o json` this test reads.
type hybridOutput struct {
	Allocations []struct {
		Camera string `json:"camera"`
		Node   string `json:"node"`
		Events int    `json:"events"`
	} `json:"allocations"`
	VMs []struct {
		Task       string `json:"task"`
		VM         string `json:"vm"`
		PowerState string `json:"power_state"`
		ExitCode   int    `json:"exit_code"`
	} `json:"vms"`
	Report struct {
		Cameras []struct {
			Camera string `json:"camera"`
			Node   string `json:"node"`
			Events int    `json:"events"`
		} `json:"cameras"`
		TotalEvents int `json:"total_events"`
	} `json:"report"`
	Simulated string `json:"simulated"`
}

// TestHybridDemo runs the demo with --hybrid, as make demo ARGS=--hybrid
// does, with the plugins that make build put in bin/plugins.
func TestHybridDemo(t *testing.T) {
	for _, plugin := range []string{"video", "vsphere"} {
		if _, err := os.Stat(filepath.Join(repoRoot, "bin", "plugins", plugin)); err != nil {
			t.Fatalf("plugin %s not built: %v (run make build)", plugin, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "run", "./e2e/cmd/ferry-demo", "--hybrid", "-o", "json")
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ferry-demo --hybrid: %v\nstderr:\n%s", err, stderr.String())
	}

	var out hybridOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("decode demo output: %v\n%s", err, stdout.String())
	}
	if len(out.Allocations) != 2 {
		t.Fatalf("allocations = %d, want 2", len(out.Allocations))
	}
	if len(out.VMs) != 1 {
		t.Fatalf("vms = %+v, want 1", out.VMs)
	}
	vm := out.VMs[0]
	if vm.Task != "report" || vm.PowerState != "poweredOn" || vm.ExitCode != 0 {
		t.Errorf("vm = %+v, want task report, poweredOn, exit code 0", vm)
	}
	want := 0
	for _, a := range out.Allocations {
		want += a.Events
	}
	if out.Report.TotalEvents != want {
		t.Errorf("report total_events = %d, want %d, the sum over the edge allocations", out.Report.TotalEvents, want)
	}
	if len(out.Report.Cameras) != len(out.Allocations) {
		t.Errorf("report cameras = %+v, want one per allocation", out.Report.Cameras)
	}
	if out.Simulated == "" {
		t.Error("simulated note is empty, want what the simulated VM did not do")
	}
}
