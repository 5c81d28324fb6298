package vsphere

import (
	"context"
	"os"
	"path/filepath"
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
		{"unknown certificate", func(*PluginConfig) {}, plugins.HealthUnhealthy, "set ca_file to vCenter's CA certificate, or insecure = true"},
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

func TestSetConfigRejectsBadCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		want string
	}{
		{"missing", filepath.Join(dir, "absent.pem"), "invalid ca_file"},
		{"not pem", notPEM, "no PEM certificate found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(passwordEnv, testPassword)
			cfg := &PluginConfig{URL: "https://127.0.0.1/sdk", Username: testUser, CAFile: tt.file}
			err := cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validate = %v, want %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.file) {
				t.Errorf("error = %q, want it to name %s", err, tt.file)
			}
		})
	}
}
