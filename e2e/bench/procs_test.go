package main

import (
	"os"
	"os/exec"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{3}, 3},
		{"odd unsorted", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestMedianKeepsInput(t *testing.T) {
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("median reordered its input to %v", in)
	}
}

func TestProcReadersOnSelf(t *testing.T) {
	pid := os.Getpid()

	ppid, err := parentPID(pid)
	if err != nil {
		t.Fatalf("parentPID: %v", err)
	}
	if ppid != os.Getppid() {
		t.Errorf("parentPID = %d, want %d", ppid, os.Getppid())
	}

	m, err := readMemory(pid)
	if err != nil {
		t.Fatalf("readMemory: %v", err)
	}
	if m.RSSKB <= 0 || m.PSSKB <= 0 || m.PSSKB > m.RSSKB {
		t.Errorf("readMemory = %+v, want 0 < PSS <= RSS", m)
	}

	cpu, err := cpuSeconds(pid)
	if err != nil {
		t.Fatalf("cpuSeconds: %v", err)
	}
	if cpu < 0 {
		t.Errorf("cpuSeconds = %v, want >= 0", cpu)
	}
}

func TestDescendantsFindsChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()

	procs, err := descendants(os.Getpid(), func(int) string { return "child" })
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range procs {
		if p.PID == cmd.Process.Pid {
			found = true
		}
	}
	if !found {
		t.Errorf("descendants(%d) = %v, want it to contain pid %d", os.Getpid(), procs, cmd.Process.Pid)
	}
}
