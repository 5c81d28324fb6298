package vsphere

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/zclconf/go-cty/cty"

	"github.com/ferry-video/ferry/plugins"
)

// startVM starts a task and registers its forced destroy as cleanup.
func startVM(t *testing.T, d *Driver, cfg *plugins.TaskConfig) taskState {
	t.Helper()
	handle, _, err := d.StartTask(testContext(t), cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() { d.DestroyTask(context.Background(), cfg.ID, true) })
	state, err := decodeTaskState(handle)
	if err != nil {
		t.Fatalf("decode handle: %v", err)
	}
	return state
}

func readVM(t *testing.T, e *simEnv, id string, props ...string) mo.VirtualMachine {
	t.Helper()
	var vm mo.VirtualMachine
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: id}
	if err := property.DefaultCollector(e.client.Client).RetrieveOne(context.Background(), ref, props, &vm); err != nil {
		t.Fatalf("read VM %q: %v", id, err)
	}
	return vm
}

func TestStartTaskClonesAndPowersOn(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "detect", map[string]cty.Value{
		"template":  cty.StringVal(testTemplate),
		"guestinfo": cty.ListVal([]cty.Value{cty.MapVal(map[string]cty.Value{"camera": cty.StringVal("cam-7")})}),
		"network":   cty.StringVal("DC0_DVPG0"),
	})
	state := startVM(t, d, cfg)

	vm := readVM(t, e, state.VMID, "name", "runtime.powerState", "config.hardware", "config.extraConfig")
	if want := "detect-" + cfg.AllocID[:8] + "-" + cfg.AllocID[:8]; vm.Name != want {
		t.Errorf("VM name = %q, want %q", vm.Name, want)
	}
	if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("power state = %q, want poweredOn", vm.Runtime.PowerState)
	}
	if vm.Config.Hardware.NumCPU != 2 {
		t.Errorf("CPUs = %d, want 2 from 1500 MHz", vm.Config.Hardware.NumCPU)
	}
	if vm.Config.Hardware.MemoryMB != 256 {
		t.Errorf("memory = %d MB, want 256", vm.Config.Hardware.MemoryMB)
	}
	for key, want := range map[string]string{
		keyTaskID:                  cfg.ID,
		keyAllocID:                 cfg.AllocID,
		"guestinfo.camera":         "cam-7",
		"guestinfo.NOMAD_ALLOC_ID": cfg.AllocID,
	} {
		if got, _ := extraValue(vm.Config, key); got != want {
			t.Errorf("extraConfig %s = %q, want %q", key, got, want)
		}
	}
	status, err := d.InspectTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if status.State != plugins.TaskStateRunning || status.Attributes["vm_id"] != state.VMID {
		t.Errorf("InspectTask = state %v vm_id %q, want running %q", status.State, status.Attributes["vm_id"], state.VMID)
	}
}

func TestWaitTaskExitCode(t *testing.T) {
	tests := []struct {
		name     string
		exitCode string
		want     int32
	}{
		{"unset", "", 0},
		{"set by guest", "3", 3},
	}
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := taskConfig(t, "job", nil)
			state := startVM(t, d, cfg)
			vm := object.NewVirtualMachine(e.client.Client, state.ref())
			if tt.exitCode != "" {
				spec := types.VirtualMachineConfigSpec{ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: keyExitCode, Value: tt.exitCode}}}
				mustTask(t, func(ctx context.Context) (*object.Task, error) { return vm.Reconfigure(ctx, spec) })
			}
			mustTask(t, vm.PowerOff)

			res, err := d.WaitTask(testContext(t), cfg.ID)
			if err != nil {
				t.Fatalf("WaitTask: %v", err)
			}
			if res.ExitCode != tt.want {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tt.want)
			}
			again, _ := d.WaitTask(testContext(t), cfg.ID)
			if again == nil || again.ExitCode != tt.want {
				t.Errorf("second WaitTask = %+v, want the same exit", again)
			}
		})
	}
}

func TestStopTask(t *testing.T) {
	tests := []struct {
		name         string
		toolsRunning bool
		stopMode     string
		signal       string
		wantEvent    string
	}{
		{"guest shutdown through tools", true, "guest", "SIGTERM", ""},
		{"guest ignores shutdown without tools", false, "guest", "SIGTERM", "Guest shutdown failed"},
		{"poweroff mode", true, "poweroff", "SIGTERM", ""},
		{"sigkill", true, "guest", "SIGKILL", ""},
	}
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testContext(t))
			defer cancel()
			events, _ := d.TaskEvents(ctx)
			cfg := taskConfig(t, "stop", map[string]cty.Value{
				"template": cty.StringVal(testTemplate), "stop_mode": cty.StringVal(tt.stopMode),
			})
			state := startVM(t, d, cfg)
			tools := types.VirtualMachineToolsRunningStatusGuestToolsNotRunning
			if tt.toolsRunning {
				tools = types.VirtualMachineToolsRunningStatusGuestToolsRunning
			}
			e.update(state.VMID, types.PropertyChange{Name: "guest.toolsRunningStatus", Val: string(tools)})

			if err := d.StopTask(ctx, cfg.ID, time.Minute, tt.signal); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
			vm := readVM(t, e, state.VMID, "runtime.powerState")
			if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
				t.Errorf("power state = %q, want poweredOff", vm.Runtime.PowerState)
			}
			if tt.wantEvent != "" {
				ev := <-events
				if strings.HasPrefix(ev.Message, "Powered on VM") {
					ev = <-events
				}
				if !strings.Contains(ev.Message, tt.wantEvent) {
					t.Errorf("event = %q, want %q", ev.Message, tt.wantEvent)
				}
			}
		})
	}
}

func TestStartTaskNamesVMInEvent(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	events, _ := d.TaskEvents(ctx)
	cfg := taskConfig(t, "named", nil)

	state := startVM(t, d, cfg)

	ev := <-events
	want := fmt.Sprintf("Powered on VM %s (%s) from template %q", state.VMName, state.VMID, testTemplate)
	if ev.Message != want {
		t.Errorf("event = %q, want %q", ev.Message, want)
	}
	if ev.TaskID != cfg.ID || ev.AllocID != cfg.AllocID {
		t.Errorf("event is for task %q of alloc %q, want %q of %q", ev.TaskID, ev.AllocID, cfg.ID, cfg.AllocID)
	}
	if ev.Annotations["vm_name"] != state.VMName {
		t.Errorf("vm_name annotation = %q, want %q", ev.Annotations["vm_name"], state.VMName)
	}
}

func TestDestroyTaskEveryPowerState(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, vm *object.VirtualMachine)
	}{
		{"powered on", func(*testing.T, *object.VirtualMachine) {}},
		{"powered off", func(t *testing.T, vm *object.VirtualMachine) { mustTask(t, vm.PowerOff) }},
		{"suspended", func(t *testing.T, vm *object.VirtualMachine) { mustTask(t, vm.Suspend) }},
		{"already deleted", func(t *testing.T, vm *object.VirtualMachine) {
			mustTask(t, vm.PowerOff)
			mustTask(t, vm.Destroy)
		}},
	}
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := taskConfig(t, "gone", nil)
			state := startVM(t, d, cfg)
			tt.setup(t, object.NewVirtualMachine(e.client.Client, state.ref()))

			if err := d.DestroyTask(testContext(t), cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			if e.vmExists(state.VMID) {
				t.Errorf("VM %q still exists", state.VMID)
			}
			if err := d.DestroyTask(testContext(t), cfg.ID, true); err != nil {
				t.Errorf("second DestroyTask: %v", err)
			}
		})
	}
}

func TestDestroyRunningWithoutForce(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "busy", nil)
	state := startVM(t, d, cfg)

	err := d.DestroyTask(testContext(t), cfg.ID, false)
	if err == nil || !strings.Contains(err.Error(), "still running") {
		t.Errorf("DestroyTask = %v, want a still running error", err)
	}
	if !e.vmExists(state.VMID) {
		t.Errorf("VM %q was deleted", state.VMID)
	}
}

func TestRecoverTask(t *testing.T) {
	tests := []struct {
		name  string
		vmID  func(real string) string
		alive bool
	}{
		{"by vm id", func(real string) string { return real }, true},
		{"by tag after stale id", func(string) string { return "vm-999999" }, true},
	}
	e := newSim(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := e.newDriver(newManualClock(), nil)
			cfg := taskConfig(t, "recover", nil)
			handle, _, err := first.StartTask(testContext(t), cfg)
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			state, _ := decodeTaskState(handle)
			real := state.VMID
			state.VMID = tt.vmID(real)
			h := newTaskHandle(cfg, state)
			stale, _ := h.toPlugin()

			second := e.newDriver(newManualClock(), nil)
			t.Cleanup(func() { second.DestroyTask(context.Background(), cfg.ID, true) })
			if err := second.RecoverTask(testContext(t), stale); err != nil {
				t.Fatalf("RecoverTask: %v", err)
			}
			status, _ := second.InspectTask(context.Background(), cfg.ID)
			if status.Attributes["vm_id"] != real {
				t.Errorf("recovered vm_id = %q, want %q", status.Attributes["vm_id"], real)
			}
			realRef := types.ManagedObjectReference{Type: "VirtualMachine", Value: real}
			mustTask(t, object.NewVirtualMachine(e.client.Client, realRef).PowerOff)
			res, err := second.WaitTask(testContext(t), cfg.ID)
			if err != nil || res.ExitCode != 0 {
				t.Errorf("WaitTask after recover = %+v, %v, want exit 0", res, err)
			}
		})
	}
}

func TestStopTaskGuestIgnoresShutdown(t *testing.T) {
	e := newSim(t)
	clk := newManualClock()
	d := e.newDriver(clk, nil)
	requests := make(chan struct{}, 1)
	// The guest accepts the request through Tools but keeps running.
	d.hooks.shutdownGuest = func(context.Context, *object.VirtualMachine) error {
		requests <- struct{}{}
		return nil
	}
	cfg := taskConfig(t, "stubborn", nil)
	state := startVM(t, d, cfg)
	e.update(state.VMID, typesToolsRunning())

	stopped := make(chan error, 1)
	go func() { stopped <- d.StopTask(testContext(t), cfg.ID, 2*time.Minute, "SIGTERM") }()
	<-requests
	if vm := readVM(t, e, state.VMID, "runtime.powerState"); vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
		t.Fatalf("power state before the kill timeout = %q, want poweredOn", vm.Runtime.PowerState)
	}
	clk.fire(t, 2*time.Minute)

	if err := <-stopped; err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if vm := readVM(t, e, state.VMID, "runtime.powerState"); vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		t.Errorf("power state after the kill timeout = %q, want poweredOff", vm.Runtime.PowerState)
	}
}
