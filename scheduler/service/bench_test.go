package service

import (
	"fmt"
	"testing"

	"github.com/ferry-video/ferry/scheduler/catalog"
	"github.com/ferry-video/ferry/scheduler/placement"
)

// benchCity is 200 nodes at one site with 5 cameras each.
func benchCity() (Catalog, []placement.Node) {
	cat := Catalog{Holdings: make(catalog.Holdings)}
	var nodes []placement.Node
	for n := range 200 {
		name := fmt.Sprintf("node-%03d", n)
		var cameras []string
		for c := range 5 {
			cameras = append(cameras, fmt.Sprintf("cam-%04d", n*5+c))
		}
		cat.Holdings[name] = catalog.Holding{Site: "s1", Cameras: cameras}
		nodes = append(nodes, placement.Node{ID: name, Site: "s1", CPUMHz: 16000, MemoryMB: 65536, Eligible: true})
	}
	return cat, nodes
}

// BenchmarkExpandUnchanged1000Cameras times the common pass: a job already
// expanded over 1,000 cameras, and a catalog that did not change.
func BenchmarkExpandUnchanged1000Cameras(b *testing.B) {
	cat, nodes := benchCity()
	first, err := Expand(templateJob(nil), cat, nodes)
	if err != nil {
		b.Fatalf("Expand: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := Expand(first.Job, cat, nodes)
		if err != nil {
			b.Fatalf("Expand: %v", err)
		}
		if res.Changed {
			b.Fatalf("Expand of an unchanged input reports a change")
		}
	}
}
