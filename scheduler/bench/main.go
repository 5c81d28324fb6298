// Command bench builds a synthetic city and places its analytics groups
// with ferry's placement and with models of Nomad's binpack and spread
// scheduling, and prints what each placed, the bytes each moves and how
// long each took.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/ferry-video/ferry/scheduler/placement/citygen"
)

// result is one engine's outcome on the city.
type result struct {
	Placed                int     `json:"placed"`
	Unplaced              int     `json:"unplaced"`
	Local                 int     `json:"local"`
	BytesMoved            int64   `json:"bytes_moved"`
	BytesMovedAcrossSites int64   `json:"bytes_moved_across_sites"`
	PlaceSeconds          float64 `json:"place_s"`
	P50Micros             float64 `json:"p50_us"`
	P99Micros             float64 `json:"p99_us"`
	AllocMB               float64 `json:"alloc_mb"`
}

type report struct {
	Ferry        result  `json:"ferry"`
	NomadBinpack result  `json:"nomad_binpack"`
	NomadSpread  result  `json:"nomad_spread"`
	Nodes        int     `json:"nodes"`
	Cameras      int     `json:"cameras"`
	Groups       int     `json:"groups"`
	Bytes        int64   `json:"bytes"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	MaxRSSMB     float64 `json:"max_rss_mb"`
}

func main() {
	var c citygen.Config
	flag.IntVar(&c.Nodes, "nodes", 200, "number of nodes")
	flag.IntVar(&c.Cameras, "cameras", 1000, "number of cameras, each with 24 hourly recordings")
	flag.IntVar(&c.Sites, "sites", 20, "number of sites")
	flag.Uint64Var(&c.Seed, "seed", 1, "seed of the synthetic city and of the Nomad models' node shuffle")
	flag.Float64Var(&c.Load, "load", 0.7, "groups' total CPU demand as a share of the fleet's free CPU")
	asJSON := flag.Bool("json", false, "print one JSON object instead of a table")
	flag.Parse()

	if err := run(c, *asJSON); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(c citygen.Config, asJSON bool) error {
	in, err := citygen.Build(c)
	if err != nil {
		return err
	}
	rep := report{Nodes: len(in.Nodes), Cameras: len(in.Cameras), Groups: len(in.Groups), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	rep.Bytes = recordingBytes(in.Holdings)

	rep.Ferry, err = measure(len(in.Groups), func(hook func(string)) (placement.Plan, error) {
		return placement.Place(in, placement.Options{OnDecision: hook})
	})
	if err != nil {
		return fmt.Errorf("ferry placement: %w", err)
	}
	for _, m := range []struct {
		algorithm placement.NomadAlgorithm
		out       *result
	}{{placement.NomadBinpack, &rep.NomadBinpack}, {placement.NomadSpread, &rep.NomadSpread}} {
		*m.out, err = measure(len(in.Groups), func(hook func(string)) (placement.Plan, error) {
			return placement.PlaceNomad(in, placement.NomadModel{Algorithm: m.algorithm, Seed: c.Seed, OnDecision: hook})
		})
		if err != nil {
			return fmt.Errorf("nomad %s model: %w", m.algorithm, err)
		}
	}
	rep.MaxRSSMB = maxRSSMB()

	if asJSON {
		return json.NewEncoder(os.Stdout).Encode(rep)
	}
	printTable(rep)
	return nil
}

// recordingBytes returns the bytes of all recordings, counting each
// replicated recording once.
func recordingBytes(holdings []placement.Holding) int64 {
	type key struct {
		camera string
		start  int64
	}
	seen := make(map[key]bool, len(holdings))
	var total int64
	for _, h := range holdings {
		k := key{h.CameraID, h.Range.Start.UnixNano()}
		if !seen[k] {
			seen[k] = true
			total += h.Bytes
		}
	}
	return total
}

// measure runs place once and times the whole plan and each decision. A
// decision's latency is the time since the previous decision, or since the
// start for the first one, so it includes any indexing or sorting that ran
// in between.
func measure(groups int, place func(hook func(string)) (placement.Plan, error)) (result, error) {
	latencies := make([]time.Duration, 0, groups)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	start := time.Now()
	last := start
	plan, err := place(func(string) {
		now := time.Now()
		latencies = append(latencies, now.Sub(last))
		last = now
	})
	elapsed := time.Since(start)
	if err != nil {
		return result{}, err
	}
	runtime.ReadMemStats(&after)

	slices.Sort(latencies)
	t := plan.Totals
	return result{
		Placed: t.Placed, Unplaced: t.Unplaced, Local: t.Local,
		BytesMoved: t.BytesMoved, BytesMovedAcrossSites: t.BytesMovedAcrossSites,
		PlaceSeconds: elapsed.Seconds(),
		P50Micros:    percentileMicros(latencies, 0.50),
		P99Micros:    percentileMicros(latencies, 0.99),
		AllocMB:      float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20),
	}, nil
}

func percentileMicros(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(q*float64(len(sorted))))
	return float64(sorted[i].Nanoseconds()) / 1e3
}

// maxRSSMB returns the process's peak resident set size. Linux reports
// ru_maxrss in KiB.
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024
}

func printTable(r report) {
	fmt.Printf("city: %d nodes, %d cameras, %d groups, %.1f GB of recordings, GOMAXPROCS %d\n\n",
		r.Nodes, r.Cameras, r.Groups, float64(r.Bytes)/1e9, r.GOMAXPROCS)
	fmt.Printf("%-14s %8s %8s %8s %14s %14s %9s %9s %9s %9s\n",
		"engine", "placed", "unplaced", "local", "moved GB", "cross-site GB", "plan s", "p50 us", "p99 us", "alloc MB")
	for _, row := range []struct {
		name string
		r    result
	}{{"ferry", r.Ferry}, {"nomad binpack", r.NomadBinpack}, {"nomad spread", r.NomadSpread}} {
		fmt.Printf("%-14s %8d %8d %8d %14.1f %14.1f %9.3f %9.1f %9.1f %9.1f\n",
			row.name, row.r.Placed, row.r.Unplaced, row.r.Local,
			float64(row.r.BytesMoved)/1e9, float64(row.r.BytesMovedAcrossSites)/1e9,
			row.r.PlaceSeconds, row.r.P50Micros, row.r.P99Micros, row.r.AllocMB)
	}
	fmt.Printf("\npeak RSS %.0f MB\n", r.MaxRSSMB)
}
