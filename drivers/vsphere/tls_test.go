package vsphere

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

func TestFingerprintTLS(t *testing.T) {
	e := newSimTLS(t)
	tests := []struct {
		name   string
		config func(*PluginConfig)
		want   plugins.HealthState
		reason string
	}{
		{"ca_file", func(c *PluginConfig) { c.CAFile = e.writeCA() }, plugins.HealthHealthy, "reachable"},
		{"insecure", func(c *PluginConfig) { c.Insecure = true }, plugins.HealthHealthy, "reachable"},
		{"unknown certificate", func(*PluginConfig) {}, plugins.HealthUnhealthy, "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.pluginConfig()
			tt.config(cfg)
			d := e.newDriver(newManualClock(), cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, _ := d.Fingerprint(ctx)

			fp := nextFingerprint(t, ch)
			if fp.Health != tt.want {
				t.Errorf("health = %v (%s), want %v", fp.Health, fp.Description, tt.want)
			}
			if !strings.Contains(fp.Description, tt.reason) {
				t.Errorf("description = %q, want %q", fp.Description, tt.reason)
			}
		})
	}
}

func TestStartTaskLinkedCloneAndDisk(t *testing.T) {
	e := newSim(t)
	tmpl := e.vm(testTemplate)
	mustTask(t, func(ctx context.Context) (*object.Task, error) {
		return tmpl.CreateSnapshot(ctx, "base", "", false, false)
	})
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "linked", map[string]cty.Value{
		"template":     cty.StringVal(testTemplate),
		"linked_clone": cty.True,
		"disk_gb":      cty.NumberIntVal(40),
	})
	state := startVM(t, d, cfg)

	vm := readVM(t, e, state.VMID, "config.hardware.device")
	disks := object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))
	if len(disks) == 0 {
		t.Fatal("clone has no disk")
	}
	if got := disks[0].(*types.VirtualDisk).CapacityInKB; got != 40*1024*1024 {
		t.Errorf("disk = %d KiB, want 40 GiB", got)
	}
}
