package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/zclconf/go-cty/cty"
)

// countVMs returns how many VMs vcsim has.
func countVMs(t *testing.T, e *simEnv) int {
	t.Helper()
	ctx := context.Background()
	v, err := view.NewManager(e.client.Client).CreateContainerView(ctx, e.client.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Destroy(ctx)
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name"}, &vms); err != nil {
		t.Fatal(err)
	}
	return len(vms)
}

func TestStartTaskErrors(t *testing.T) {
	e := newSim(t)
	tests := []struct {
		name        string
		config      func(*PluginConfig)
		task        map[string]cty.Value
		powerOnFail bool
		want        string
		recoverable bool
	}{
		{
			name:   "wrong password",
			config: func(c *PluginConfig) { c.password = "wrong" },
			want:   `login to vCenter ` + e.url + ` as "ferry" failed: check username`,
		},
		{
			name: "missing template",
			task: map[string]cty.Value{"template": cty.StringVal("no-such-template")},
			want: `template "no-such-template" not found in datacenter "DC0"`,
		},
		{
			name: "linked clone without snapshot",
			task: map[string]cty.Value{"template": cty.StringVal(testTemplate), "linked_clone": cty.True},
			want: `linked_clone needs a snapshot on template "ubuntu-template"`,
		},
		{
			name: "invalid stop mode",
			task: map[string]cty.Value{"template": cty.StringVal(testTemplate), "stop_mode": cty.StringVal("halt")},
			want: `invalid stop_mode "halt"`,
		},
		{
			name: "missing network",
			task: map[string]cty.Value{"template": cty.StringVal(testTemplate), "network": cty.StringVal("nowhere")},
			want: `network "nowhere" not found`,
		},
		{
			name:        "power on fails",
			powerOnFail: true,
			want:        "power on VM",
		},
		{
			name:        "vCenter unreachable",
			config:      func(c *PluginConfig) { c.url.Host = "127.0.0.1:1" },
			want:        "vCenter http://127.0.0.1:1/sdk is unreachable",
			recoverable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.pluginConfig()
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			if tt.config != nil {
				tt.config(cfg)
			}
			d := newDriver(nullLogger(), newManualClock())
			d.applyConfig(cfg)
			if tt.powerOnFail {
				d.hooks.powerOn = func(context.Context, *object.VirtualMachine) error { return errors.New("host is in maintenance mode") }
			}
			before := countVMs(t, e)

			_, _, err := d.StartTask(testContext(t), taskConfig(t, "bad", tt.task))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("StartTask error = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error contains the password: %v", err)
			}
			if isRecoverable(err) != tt.recoverable {
				t.Errorf("recoverable = %v, want %v", isRecoverable(err), tt.recoverable)
			}
			if after := countVMs(t, e); after != before {
				t.Errorf("VM count went from %d to %d, want no VM left", before, after)
			}
		})
	}
}

func TestStartTaskDuplicateID(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "twice", nil)
	startVM(t, d, cfg)

	_, _, err := d.StartTask(testContext(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second StartTask = %v, want already started", err)
	}
}

func TestSignalTask(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "sig", nil)
	startVM(t, d, cfg)

	err := d.SignalTask(testContext(t), cfg.ID, "SIGHUP")
	if err == nil || !strings.Contains(err.Error(), `signal "SIGHUP" is not supported`) {
		t.Errorf("SignalTask(SIGHUP) = %v, want not supported", err)
	}
	if err := d.SignalTask(testContext(t), cfg.ID, "SIGKILL"); err != nil {
		t.Fatalf("SignalTask(SIGKILL): %v", err)
	}
	res, err := d.WaitTask(testContext(t), cfg.ID)
	if err != nil || res.ExitCode != 0 {
		t.Errorf("WaitTask after SIGKILL = %+v, %v", res, err)
	}
}

func TestExecTaskWithoutTools(t *testing.T) {
	e := newSim(t)
	cfg := e.pluginConfig()
	cfg.GuestUsername = "root"
	t.Setenv(guestPasswordEnv, "guest-pw")
	d := e.newDriver(newManualClock(), cfg)
	task := taskConfig(t, "exec", nil)
	state := startVM(t, d, task)

	_, err := d.ExecTask(testContext(t), task.ID, []string{"/bin/true"}, 0)
	if err == nil || !strings.Contains(err.Error(), "VMware Tools are not running") {
		t.Errorf("ExecTask without tools = %v, want tools not running", err)
	}

	// vcsim v0.56.0 runs guest programs only in container-backed VMs. For
	// other VMs its StartProgramInGuest handler panics after the fault and
	// closes the connection, so the driver can only report the failed call.
	e.update(state.VMID, typesToolsRunning())
	_, err = d.ExecTask(testContext(t), task.ID, []string{"/bin/true"}, 0)
	if err == nil || !strings.Contains(err.Error(), `exec "/bin/true" in VM "`+state.VMName+`"`) {
		t.Errorf("ExecTask with tools = %v, want a failed exec naming the VM", err)
	}
}

func TestExecTaskErrors(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	task := taskConfig(t, "exec", nil)
	startVM(t, d, task)
	tests := []struct {
		name string
		cmd  []string
		want string
	}{
		{"missing command", nil, "missing command"},
		{"missing guest user", []string{"/bin/true"}, "missing guest_username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.ExecTask(testContext(t), task.ID, tt.cmd, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ExecTask = %v, want %q", err, tt.want)
			}
			// Nomad's agent passes the gRPC status text to the CLI as a
			// websocket close reason, at most 123 bytes.
			if status := "rpc error: code = Unknown desc = " + err.Error(); len(status) > 123 {
				t.Errorf("status %q is %d bytes, want at most 123", status, len(status))
			}
		})
	}
}
