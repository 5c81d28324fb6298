package vsphere

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

func nextFingerprint(t *testing.T, ch <-chan *plugins.Fingerprint) *plugins.Fingerprint {
	t.Helper()
	select {
	case fp, ok := <-ch:
		if !ok {
			t.Fatal("fingerprint stream closed")
		}
		return fp
	case <-testContext(t).Done():
		t.Fatal("no fingerprint")
	}
	return nil
}

func TestFingerprintHealthyThenUnreachable(t *testing.T) {
	e := newSim(t)
	clk := newManualClock()
	d := e.newDriver(clk, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}

	fp := nextFingerprint(t, ch)
	if fp.Health != plugins.HealthHealthy {
		t.Fatalf("health = %v (%s), want healthy", fp.Health, fp.Description)
	}
	if got := fp.Attributes[attrDatacenter].String; got != "DC0" {
		t.Errorf("%s = %q, want DC0", attrDatacenter, got)
	}
	if got := fp.Attributes[attrVersion].String; got == "" {
		t.Errorf("%s is empty", attrVersion)
	}
	for _, name := range []string{attrCPUFree, attrMemoryFree} {
		if got := fp.Attributes[name]; got.Kind != plugins.AttributeInt || got.Int <= 0 {
			t.Errorf("%s = %+v, want a positive integer", name, got)
		}
	}

	e.server.Close()
	clk.fire(t, defaultFingerprintPeriod)
	fp = nextFingerprint(t, ch)
	if fp.Health != plugins.HealthUnhealthy {
		t.Errorf("health after vCenter stopped = %v, want unhealthy", fp.Health)
	}
	if !strings.Contains(fp.Description, "unreachable") {
		t.Errorf("description = %q, want it to say unreachable", fp.Description)
	}
}

func TestFingerprintUnhealthy(t *testing.T) {
	e := newSim(t)
	tests := []struct {
		name   string
		config func(*PluginConfig)
		want   plugins.HealthState
		reason string
	}{
		{"wrong password", func(c *PluginConfig) { c.password = "nope" }, plugins.HealthUnhealthy, "failed: check username"},
		{"missing cluster", func(c *PluginConfig) { c.Cluster = "NoCluster" }, plugins.HealthUnhealthy, `cluster "NoCluster" not found`},
		{"not configured", func(c *PluginConfig) { *c = PluginConfig{fingerprintPeriod: defaultFingerprintPeriod} }, plugins.HealthUndetected, "not configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.pluginConfig()
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			tt.config(cfg)
			d := newDriver(nullLogger(), newManualClock())
			d.applyConfig(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, _ := d.Fingerprint(ctx)

			fp := nextFingerprint(t, ch)
			if fp.Health != tt.want {
				t.Errorf("health = %v, want %v", fp.Health, tt.want)
			}
			if !strings.Contains(fp.Description, tt.reason) {
				t.Errorf("description = %q, want %q", fp.Description, tt.reason)
			}
			if strings.Contains(fp.Description, testPassword) {
				t.Errorf("description contains the password")
			}
		})
	}
}

func TestOrphansReportedAndDestroyed(t *testing.T) {
	tests := []struct {
		name    string
		destroy bool
		want    string
	}{
		{"reported only", false, "kept, because destroy_orphans is false"},
		{"destroyed", true, "destroyed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSim(t)
			cfg := e.pluginConfig()
			cfg.DestroyOrphans = tt.destroy
			clk := newManualClock()
			d := e.newDriver(clk, cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			task := taskConfig(t, "orphan", nil)
			state := startVM(t, d, task)
			// Subscribe after the start, so its power-on event is not read.
			events, _ := d.TaskEvents(ctx)
			// Forget the task as a crashed plugin whose task Nomad
			// never recovers would.
			h, _ := d.tasks.get(task.ID)
			h.stop()
			d.tasks.delete(task.ID)
			t.Cleanup(func() { destroyVM(context.Background(), object.NewVirtualMachine(e.client.Client, state.ref())) })

			ch, _ := d.Fingerprint(ctx)
			nextFingerprint(t, ch)
			clk.fire(t, defaultFingerprintPeriod)
			ev := <-events

			if ev.TaskID != task.ID || !strings.Contains(ev.Message, tt.want) {
				t.Errorf("event = %q for %q, want %q for %q", ev.Message, ev.TaskID, tt.want, task.ID)
			}
			if exists := e.vmExists(state.VMID); exists == tt.destroy {
				t.Errorf("VM exists = %v, want %v", exists, !tt.destroy)
			}
		})
	}
}

func TestTaskStatsFromQuickStats(t *testing.T) {
	e := newSim(t)
	clk := newManualClock()
	d := e.newDriver(clk, nil)
	task := taskConfig(t, "stats", nil)
	state := startVM(t, d, task)
	e.update(state.VMID,
		types.PropertyChange{Name: "summary.quickStats", Val: types.VirtualMachineQuickStats{
			OverallCpuUsage: 1200, GuestMemoryUsage: 100, HostMemoryUsage: 180,
		}},
		types.PropertyChange{Name: "summary.runtime.maxCpuUsage", Val: int32(4800)},
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	ch, err := d.TaskStats(ctx, task.ID, defaultFingerprintPeriod)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	for i := range 2 {
		if i > 0 {
			clk.fire(t, defaultFingerprintPeriod)
		}
		usage := <-ch
		if usage.CPU.TotalTicks != 1200 || usage.CPU.Percent != 25 {
			t.Errorf("sample %d CPU = %v MHz %v%%, want 1200 MHz 25%%", i, usage.CPU.TotalTicks, usage.CPU.Percent)
		}
		if usage.Memory.RSS != 180*mib || usage.Memory.Usage != 100*mib {
			t.Errorf("sample %d memory RSS %d usage %d, want 180 and 100 MiB", i, usage.Memory.RSS, usage.Memory.Usage)
		}
	}
	if _, err := d.TaskStats(ctx, "no-such-task", defaultFingerprintPeriod); err != plugins.ErrTaskNotFound {
		t.Errorf("TaskStats of unknown task = %v, want ErrTaskNotFound", err)
	}
}
