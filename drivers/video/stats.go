package video

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/ferry-video/ferry/plugins"
)

// TaskStats follows Docker's stats stream and sends the newest sample every
// interval until ctx is done.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *plugins.TaskResourceUsage, error) {
	h, err := d.handle(taskID)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	resp, err := h.docker.ContainerStats(ctx, h.state.ContainerID, true)
	if err != nil {
		return nil, plugins.Recoverable(err)
	}

	var mu sync.Mutex
	var latest *container.StatsResponse
	go func() {
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var s container.StatsResponse
			if err := dec.Decode(&s); err != nil {
				return
			}
			mu.Lock()
			latest = &s
			mu.Unlock()
		}
	}()

	out := make(chan *plugins.TaskResourceUsage)
	go func() {
		defer close(out)
		t := d.clock.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			}
			mu.Lock()
			sample := latest
			mu.Unlock()
			if sample == nil {
				continue
			}
			select {
			case out <- convertStats(sample):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// convertStats maps a Docker stats sample to Nomad's usage, reading cgroup
// v1 or v2 memory fields as present.
func convertStats(s *container.StatsResponse) *plugins.TaskResourceUsage {
	usage := &plugins.TaskResourceUsage{Timestamp: s.Read}

	mem := &usage.Memory
	mem.Usage = s.MemoryStats.Usage
	mem.Measured = append(mem.Measured, "Usage")
	if rss, ok := s.MemoryStats.Stats["rss"]; ok { // cgroup v1
		mem.RSS = rss
		mem.Cache = s.MemoryStats.Stats["cache"]
		mem.MaxUsage = s.MemoryStats.MaxUsage
		mem.Measured = append(mem.Measured, "RSS", "Cache", "Max Usage")
	} else if anon, ok := s.MemoryStats.Stats["anon"]; ok { // cgroup v2
		mem.RSS = anon
		mem.Cache = s.MemoryStats.Stats["file"]
		mem.Measured = append(mem.Measured, "RSS", "Cache")
	}

	cpu := &usage.CPU
	cpu.ThrottledPeriods = s.CPUStats.ThrottlingData.ThrottledPeriods
	cpu.ThrottledTime = s.CPUStats.ThrottlingData.ThrottledTime
	cpu.Percent = cpuPercent(s)
	cpu.TotalTicks = cpu.Percent / 100 * hostCPUMHz() / float64(runtime.NumCPU())
	cpu.Measured = []string{"Throttled Periods", "Throttled Time", "Percent", "Total Ticks"}
	return usage
}

// cpuPercent is the container's CPU use since the previous sample, where
// 100 is one whole core.
func cpuPercent(s *container.StatsResponse) float64 {
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	systemDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	if cpuDelta <= 0 || systemDelta <= 0 {
		return 0
	}
	cpus := float64(s.CPUStats.OnlineCPUs)
	if cpus == 0 {
		cpus = float64(len(s.CPUStats.CPUUsage.PercpuUsage))
	}
	return cpuDelta / systemDelta * cpus * 100
}

var (
	cpuMHzOnce sync.Once
	cpuMHz     float64
)

// hostCPUMHz returns the sum of the cores' clock rates from /proc/cpuinfo,
// the unit Nomad counts CPU ticks in. It returns 0 where that file is
// missing.
func hostCPUMHz() float64 {
	cpuMHzOnce.Do(func() {
		f, err := os.Open("/proc/cpuinfo")
		if err != nil {
			return
		}
		defer f.Close()
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			key, value, ok := strings.Cut(scanner.Text(), ":")
			if !ok || strings.TrimSpace(key) != "cpu MHz" {
				continue
			}
			if mhz, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				cpuMHz += mhz
			}
		}
	})
	return cpuMHz
}
