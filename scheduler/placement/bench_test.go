package placement_test

import (
	"testing"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/ferry-video/ferry/scheduler/placement/citygen"
)

// defaultCity is the benchmark command's default city: 20 sites, 200
// nodes, 1,000 cameras and 24,000 per-recording groups.
func defaultCity(b *testing.B) placement.Input {
	b.Helper()
	in, err := citygen.Build(citygen.Config{Seed: 1})
	if err != nil {
		b.Fatalf("citygen.Build: %v", err)
	}
	return in
}

func BenchmarkPlaceDefaultCity(b *testing.B) {
	in := defaultCity(b)
	b.ReportAllocs()
	var p placement.Plan
	for b.Loop() {
		var err error
		if p, err = placement.Place(in, placement.Options{}); err != nil {
			b.Fatalf("Place: %v", err)
		}
	}
	b.ReportMetric(float64(p.Totals.BytesMoved)/1e9, "GB_moved")
}

func BenchmarkReplanDefaultCity(b *testing.B) {
	in := defaultCity(b)
	first, err := placement.Place(in, placement.Options{})
	if err != nil {
		b.Fatalf("Place: %v", err)
	}
	in.Previous = &first
	b.ReportAllocs()
	for b.Loop() {
		if _, err := placement.Place(in, placement.Options{}); err != nil {
			b.Fatalf("Place: %v", err)
		}
	}
}

func BenchmarkPlaceNomadBinpackDefaultCity(b *testing.B) {
	in := defaultCity(b)
	b.ReportAllocs()
	var p placement.Plan
	for b.Loop() {
		var err error
		if p, err = placement.PlaceNomad(in, placement.NomadModel{Algorithm: placement.NomadBinpack, Seed: 1}); err != nil {
			b.Fatalf("PlaceNomad: %v", err)
		}
	}
	b.ReportMetric(float64(p.Totals.BytesMoved)/1e9, "GB_moved")
}
