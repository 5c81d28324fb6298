package vsphere

import (
	"sync"
	"testing"
)

func TestConcurrentStartsRespectCloneLimit(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		starts int
	}{
		{"limit 1", 1, 4},
		{"limit 2", 2, 6},
		{"limit above starts", 8, 4},
	}
	e := newSim(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.pluginConfig()
			cfg.MaxConcurrentClones = tt.limit
			d := e.newDriver(newManualClock(), cfg)
			var mu sync.Mutex
			maxInFlight := 0
			d.hooks.cloning = func(n int) {
				mu.Lock()
				maxInFlight = max(maxInFlight, n)
				mu.Unlock()
			}

			var wg sync.WaitGroup
			errs := make([]error, tt.starts)
			for i := range tt.starts {
				task := taskConfig(t, "many", nil)
				t.Cleanup(func() { d.DestroyTask(testContext(t), task.ID, true) })
				wg.Go(func() { _, _, errs[i] = d.StartTask(testContext(t), task) })
			}
			wg.Wait()

			for i, err := range errs {
				if err != nil {
					t.Errorf("start %d: %v", i, err)
				}
			}
			if maxInFlight > tt.limit {
				t.Errorf("clones in flight reached %d, want at most %d", maxInFlight, tt.limit)
			}
			if maxInFlight == 0 {
				t.Errorf("no clone was counted")
			}
		})
	}
}
