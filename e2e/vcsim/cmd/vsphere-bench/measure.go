package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-video/ferry/e2e/vcsim"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// summary is the median and the maximum of a set of durations.
type summary struct {
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

func summarize(ms []float64) summary {
	sort.Float64s(ms)
	return summary{Median: ms[len(ms)/2], Max: ms[len(ms)-1]}
}

// measure runs rounds of vms tasks started at once and then destroyed at
// once, timing each call.
func measure(ctx context.Context, p *harness.Plugin, dir string, vms, rounds int) (run, error) {
	data, err := p.EncodeTaskConfig(ctx, []byte(`template = "`+vcsim.TemplateName+`"`+"\nstop_mode = \"poweroff\"\n"), "task.hcl")
	if err != nil {
		return run{}, err
	}
	var starts, destroys []float64
	for range rounds {
		tasks := make([]*plugins.TaskConfig, vms)
		for i := range tasks {
			alloc, err := harness.NewAllocDirFor(filepath.Join(dir, "allocs"), fmt.Sprintf("bench-%d", i), plugins.Capabilities{DisableLogCollection: true})
			if err != nil {
				return run{}, err
			}
			alloc.Close()
			tasks[i] = alloc.TaskConfig(data)
		}
		s, err := timeAll(tasks, func(t *plugins.TaskConfig) error {
			_, _, err := p.Driver.StartTask(ctx, t)
			return err
		})
		if err != nil {
			return run{}, fmt.Errorf("StartTask: %w", err)
		}
		d, err := timeAll(tasks, func(t *plugins.TaskConfig) error { return p.Driver.DestroyTask(ctx, t.ID, true) })
		if err != nil {
			return run{}, fmt.Errorf("DestroyTask: %w", err)
		}
		starts, destroys = append(starts, s...), append(destroys, d...)
	}
	return run{VMs: vms, Rounds: rounds, StartMs: summarize(starts), DestroyMs: summarize(destroys)}, nil
}

// timeAll calls call for every task at once and returns each duration in
// milliseconds.
func timeAll(tasks []*plugins.TaskConfig, call func(*plugins.TaskConfig) error) ([]float64, error) {
	ms := make([]float64, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Go(func() {
			start := time.Now()
			errs[i] = call(t)
			ms[i] = float64(time.Since(start).Microseconds()) / 1000
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// idleRSS waits two seconds without tasks and reads the plugin's VmRSS.
func idleRSS(ctx context.Context, p *harness.Plugin) (int64, error) {
	select {
	case <-time.After(2 * time.Second):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.Pid())
}
