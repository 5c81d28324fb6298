package placement

import (
	"errors"
	"slices"
	"testing"
)

func TestPlaceNomad(t *testing.T) {
	cams := []Camera{camera("c1")}
	nodes := []Node{node("empty", "s1", 10000), node("full", "s2", 1000), node("holder", "s3", 5000)}
	holdings := []Holding{hold("c1", "holder", 0, 100)}
	tests := []struct {
		name      string
		algorithm NomadAlgorithm
		nodes     []Node
		wants     map[string]want
	}{
		{
			name:      "binpack takes the fullest node",
			algorithm: NomadBinpack,
			nodes:     nodes,
			wants:     map[string]want{"g1": {node: "full", reason: ReasonNoData, moved: 100, acrossSites: 100}},
		},
		{
			name:      "spread takes the emptiest node",
			algorithm: NomadSpread,
			nodes:     nodes,
			wants:     map[string]want{"g1": {node: "empty", reason: ReasonNoData, moved: 100, acrossSites: 100}},
		},
		{
			name:      "holder by chance moves nothing",
			algorithm: NomadBinpack,
			nodes:     []Node{node("empty", "s1", 10000), node("holder", "s3", 5000)},
			wants:     map[string]want{"g1": {node: "holder", reason: ReasonLocal}},
		},
		{
			name:      "no node fits",
			algorithm: NomadBinpack,
			nodes:     []Node{node("full", "s2", 100)},
			wants:     map[string]want{"g1": {reason: ReasonNoCapacity}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Nodes: tc.nodes, Cameras: cams, Holdings: holdings, Groups: []Group{group("g1", "c1", 0, 500)}}
			p, err := PlaceNomad(in, NomadModel{Algorithm: tc.algorithm, Seed: 7, Limit: len(tc.nodes)})
			if err != nil {
				t.Fatalf("PlaceNomad: %v", err)
			}
			checkPlan(t, p, tc.wants)
		})
	}
}

func TestPlaceNomadSeeded(t *testing.T) {
	in := crowdedCity()
	for _, a := range []NomadAlgorithm{NomadBinpack, NomadSpread} {
		t.Run(string(a), func(t *testing.T) {
			first, err := PlaceNomad(in, NomadModel{Algorithm: a, Seed: 3})
			if err != nil {
				t.Fatalf("PlaceNomad: %v", err)
			}
			second, err := PlaceNomad(in, NomadModel{Algorithm: a, Seed: 3})
			if err != nil {
				t.Fatalf("PlaceNomad: %v", err)
			}
			if !slices.Equal(first.Placements, second.Placements) {
				t.Errorf("same seed gave different plans")
			}
			ferry, err := Place(in, Options{})
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if ferry.Totals.BytesMoved >= first.Totals.BytesMoved {
				t.Errorf("ferry moves %d bytes, not fewer than the %s model's %d", ferry.Totals.BytesMoved, a, first.Totals.BytesMoved)
			}
		})
	}
}

func TestPlaceNomadInvalidModel(t *testing.T) {
	in := crowdedCity()
	for _, m := range []NomadModel{{Algorithm: "random"}, {Algorithm: NomadBinpack, Limit: -1}} {
		if _, err := PlaceNomad(in, m); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("model %+v: error %v, want ErrInvalidInput", m, err)
		}
	}
}

func TestDefaultNomadLimit(t *testing.T) {
	tests := []struct {
		algorithm NomadAlgorithm
		nodes     int
		want      int
	}{
		{NomadBinpack, 1, 2},
		{NomadBinpack, 200, 8},
		{NomadBinpack, 10000, 14},
		{NomadSpread, 200, 100},
	}
	for _, tc := range tests {
		if got := defaultNomadLimit(tc.algorithm, tc.nodes); got != tc.want {
			t.Errorf("%s limit for %d nodes = %d, want %d", tc.algorithm, tc.nodes, got, tc.want)
		}
	}
}
