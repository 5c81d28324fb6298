// Package citygen builds a synthetic city for placement benchmarks: sites,
// recorder nodes of varied size, cameras with hourly recordings sized from
// real bitrates, some replicated, and one analytics group per recording.
// The same Config always builds the same city.
package citygen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ferry-video/ferry/scheduler/placement"
)

// Config sizes the city. Zero fields take the defaults in parentheses.
type Config struct {
	Sites   int // (20)
	Nodes   int // (200)
	Cameras int // (1,000)
	// Hours is the number of hourly recordings per camera (24).
	Hours int
	// ReplicaShare is the share of cameras whose recordings a second node
	// also holds, half of them in the same site (0.1).
	ReplicaShare float64
	// Load is the groups' total CPU demand as a share of the fleet's free
	// CPU (0.7). Memory demand is fixed at 40% of the fleet's free memory.
	Load float64
	Seed uint64
}

// Start is the start of the first recording. It is fixed so that a city
// does not depend on the clock.
var Start = time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)

func (c *Config) applyDefaults() error {
	c.Sites = cmpOr(c.Sites, 20)
	c.Nodes = cmpOr(c.Nodes, 200)
	c.Cameras = cmpOr(c.Cameras, 1000)
	c.Hours = cmpOr(c.Hours, 24)
	if c.ReplicaShare == 0 {
		c.ReplicaShare = 0.1
	}
	if c.Load == 0 {
		c.Load = 0.7
	}
	switch {
	case c.Sites < 1 || c.Nodes < 1 || c.Cameras < 1 || c.Hours < 1:
		return fmt.Errorf("citygen: sites %d, nodes %d, cameras %d and hours %d must all be positive", c.Sites, c.Nodes, c.Cameras, c.Hours)
	case c.Nodes < c.Sites:
		return fmt.Errorf("citygen: %d nodes cannot fill %d sites; give at least one node per site", c.Nodes, c.Sites)
	case c.ReplicaShare < 0 || c.ReplicaShare > 1:
		return fmt.Errorf("citygen: replica share %v must be between 0 and 1", c.ReplicaShare)
	case c.Load <= 0:
		return fmt.Errorf("citygen: load %v must be positive", c.Load)
	}
	return nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

var (
	cpuSizes = []int64{8000, 16000, 24000, 32000, 48000}
	// memoryPerGHz is the node's memory in MB per GHz of CPU, because
	// servers are bought with memory in proportion to cores.
	memoryPerGHz = []int64{1024, 2048}
)

// Build returns the city as a placement input with no previous plan.
func Build(c Config) (placement.Input, error) {
	if err := c.applyDefaults(); err != nil {
		return placement.Input{}, err
	}
	rng := rand.New(rand.NewPCG(c.Seed, c.Seed+1))
	in := placement.Input{Nodes: buildNodes(c, rng)}
	bySite := make([][]int, c.Sites)
	for i := range in.Nodes {
		bySite[i%c.Sites] = append(bySite[i%c.Sites], i)
	}

	bitrates := make([]float64, c.Cameras)
	load := make([]float64, len(in.Nodes)) // bit/s recorded per node
	for i := range c.Cameras {
		site := rng.IntN(c.Sites)
		cam := placement.Camera{ID: fmt.Sprintf("cam-%05d", i), Site: siteID(site), Tags: []string{"analytics"}}
		in.Cameras = append(in.Cameras, cam)
		bitrates[i] = 1e6 + rng.Float64()*7e6 // bit/s
		holders := []int{pickRecorder(rng, in.Nodes, bySite[site], load)}
		load[holders[0]] += bitrates[i]
		if rng.Float64() < c.ReplicaShare {
			holders = append(holders, pickReplica(rng, c, bySite, site, holders[0]))
		}
		for h := range c.Hours {
			r := placement.TimeRange{Start: Start.Add(time.Duration(h) * time.Hour), End: Start.Add(time.Duration(h+1) * time.Hour)}
			bytes := int64(bitrates[i] / 8 * 3600)
			for _, n := range holders {
				in.Holdings = append(in.Holdings, placement.Holding{CameraID: cam.ID, NodeID: in.Nodes[n].ID, Range: r, Bytes: bytes})
			}
		}
	}
	in.Groups = buildGroups(c, in, bitrates)
	return in, nil
}

func siteID(i int) string { return fmt.Sprintf("site-%02d", i) }

func buildNodes(c Config, rng *rand.Rand) []placement.Node {
	nodes := make([]placement.Node, c.Nodes)
	for i := range nodes {
		cpu := cpuSizes[rng.IntN(len(cpuSizes))]
		mem := cpu / 1000 * memoryPerGHz[rng.IntN(len(memoryPerGHz))]
		// The recorder software and the OS use 5 to 15% of each node.
		used := 0.05 + rng.Float64()*0.1
		nodes[i] = placement.Node{
			ID: fmt.Sprintf("node-%05d", i), Site: siteID(i % c.Sites),
			CPUMHz: cpu, MemoryMB: mem,
			UsedCPUMHz: int64(float64(cpu) * used), UsedMemoryMB: int64(float64(mem) * used),
			Eligible: true,
		}
	}
	return nodes
}

// pickRecorder returns the node that records a new camera: of two nodes
// drawn with probability proportional to CPU, the one with less recorded
// bitrate per MHz. A city sizes its recorders for their cameras, but not
// exactly, so some still fill up.
func pickRecorder(rng *rand.Rand, nodes []placement.Node, candidates []int, load []float64) int {
	a := pickWeighted(rng, nodes, candidates)
	b := pickWeighted(rng, nodes, candidates)
	if load[b]/float64(nodes[b].CPUMHz) < load[a]/float64(nodes[a].CPUMHz) {
		return b
	}
	return a
}

// pickWeighted returns one of candidates with probability proportional to
// its CPU.
func pickWeighted(rng *rand.Rand, nodes []placement.Node, candidates []int) int {
	var total int64
	for _, n := range candidates {
		total += nodes[n].CPUMHz
	}
	x := rng.Int64N(total)
	for _, n := range candidates {
		x -= nodes[n].CPUMHz
		if x < 0 {
			return n
		}
	}
	return candidates[len(candidates)-1]
}

// pickReplica returns a node other than first: in the same site half of the
// time when the site has another node, otherwise in another site.
func pickReplica(rng *rand.Rand, c Config, bySite [][]int, site, first int) int {
	if rng.IntN(2) == 0 && len(bySite[site]) > 1 {
		for {
			if n := bySite[site][rng.IntN(len(bySite[site]))]; n != first {
				return n
			}
		}
	}
	other := site
	if c.Sites > 1 {
		other = (site + 1 + rng.IntN(c.Sites-1)) % c.Sites
	}
	for {
		if n := bySite[other][rng.IntN(len(bySite[other]))]; n != first {
			return n
		}
	}
}

// buildGroups makes one analytics group per recording. CPU demand is
// proportional to the camera's bitrate, a simple model of decoding cost.
func buildGroups(c Config, in placement.Input, bitrates []float64) []placement.Group {
	var freeCPU, freeMem int64
	for _, n := range in.Nodes {
		freeCPU += n.CPUMHz - n.UsedCPUMHz
		freeMem += n.MemoryMB - n.UsedMemoryMB
	}
	var bitrateSum float64
	for _, b := range bitrates {
		bitrateSum += b * float64(c.Hours)
	}
	cpuPerBit := c.Load * float64(freeCPU) / bitrateSum
	memory := max(1, int64(0.4*float64(freeMem)/float64(c.Cameras*c.Hours)))

	groups := make([]placement.Group, 0, c.Cameras*c.Hours)
	for i, cam := range in.Cameras {
		for h := range c.Hours {
			start := Start.Add(time.Duration(h) * time.Hour)
			groups = append(groups, placement.Group{
				ID:       fmt.Sprintf("analytics/%s/%s", cam.ID, start.Format("2006-01-02T15")),
				CameraID: cam.ID,
				Range:    placement.TimeRange{Start: start, End: start.Add(time.Hour)},
				CPUMHz:   max(1, int64(bitrates[i]*cpuPerBit)),
				MemoryMB: memory,
				Locality: placement.LocalityPreferred,
			})
		}
	}
	return groups
}
