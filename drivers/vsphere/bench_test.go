package vsphere

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// BenchmarkStartDestroy starts vms tasks at once on vcsim, each a clone of
// the template, then destroys them. It reports the wall time per round
// and per VM. vcsim runs in-process, so this measures the driver and the
// SOAP round trips, not a real vCenter's clone time.
func BenchmarkStartDestroy(b *testing.B) {
	for _, vms := range []int{1, 20} {
		b.Run(fmt.Sprintf("vms=%d", vms), func(b *testing.B) {
			e := newSim(b)
			cfg := e.pluginConfig()
			cfg.MaxConcurrentClones = vms
			d := e.newDriver(realClock{}, cfg)
			ctx := context.Background()

			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				startDestroyRound(b, ctx, d, vms)
			}
			elapsed := time.Since(start)
			rounds := float64(b.N)
			b.ReportMetric(float64(elapsed.Milliseconds())/rounds, "ms/round")
			b.ReportMetric(float64(elapsed.Microseconds())/1000/rounds/float64(vms), "ms/vm")
			b.ReportMetric(rounds*float64(vms)/elapsed.Seconds(), "vms/s")
		})
	}
}

func startDestroyRound(b *testing.B, ctx context.Context, d *Driver, vms int) {
	tasks := make([]*plugins.TaskConfig, vms)
	errs := make([]error, vms)
	var wg sync.WaitGroup
	for i := range tasks {
		tasks[i] = taskConfig(b, "bench", nil)
		wg.Go(func() { _, _, errs[i] = d.StartTask(ctx, tasks[i]) })
	}
	wg.Wait()
	for i, task := range tasks {
		if errs[i] != nil {
			b.Fatalf("StartTask: %v", errs[i])
		}
		wg.Go(func() { errs[i] = d.DestroyTask(ctx, task.ID, true) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatalf("DestroyTask: %v", err)
		}
	}
}
