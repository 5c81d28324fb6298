package vsphere

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// attributesOf returns a VM's nomad.* custom attribute values by name.
func attributesOf(t *testing.T, e *simEnv, vmID string) map[string]string {
	t.Helper()
	names, err := attributeNames(context.Background(), e.client.Client)
	if err != nil {
		t.Fatalf("read custom attribute definitions: %v", err)
	}
	vm := readVM(t, e, vmID, "customValue")
	return customValues(vm.CustomValue, names)
}

// stripExtraConfigMarker removes the guestinfo.ferry.* keys of a VM, so
// that only its custom attributes mark it.
func stripExtraConfigMarker(t *testing.T, e *simEnv, vmID string) {
	t.Helper()
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmID}
	vm := object.NewVirtualMachine(e.client.Client, ref)
	spec := types.VirtualMachineConfigSpec{ExtraConfig: extraConfig(map[string]string{keyTaskID: "", keyAllocID: "", keyNodeID: ""})}
	mustTask(t, func(ctx context.Context) (*object.Task, error) { return vm.Reconfigure(ctx, spec) })
	if _, ok := extraValue(readVM(t, e, vmID, "config.extraConfig").Config, keyTaskID); ok {
		t.Fatalf("VM %q still has %s", vmID, keyTaskID)
	}
}

func TestStartTaskSetsCustomAttributes(t *testing.T) {
	e := newSim(t)
	d := e.newDriver(newManualClock(), nil)
	first := taskConfig(t, "detect", nil)
	second := taskConfig(t, "count", nil)
	firstState := startVM(t, d, first)
	secondState := startVM(t, d, second)

	for _, tc := range []struct {
		cfg   *plugins.TaskConfig
		state taskState
	}{{first, firstState}, {second, secondState}} {
		t.Run(tc.cfg.Name, func(t *testing.T) {
			got := attributesOf(t, e, tc.state.VMID)
			for name, want := range map[string]string{attrAllocID: tc.cfg.AllocID, attrTask: tc.cfg.Name, attrNodeID: tc.cfg.NodeID} {
				if got[name] != want {
					t.Errorf("custom attribute %s = %q, want %q", name, got[name], want)
				}
			}
		})
	}

	fields, err := object.NewCustomFieldsManager(e.client.Client).Field(context.Background())
	if err != nil {
		t.Fatalf("list custom fields: %v", err)
	}
	for _, name := range attrNames {
		count := 0
		for _, f := range fields {
			if f.Name == name {
				count++
				if f.ManagedObjectType != "VirtualMachine" {
					t.Errorf("field %s is for type %q, want VirtualMachine", name, f.ManagedObjectType)
				}
			}
		}
		if count != 1 {
			t.Errorf("field %s defined %d times, want once", name, count)
		}
	}
}

func TestStartTaskUsesExistingAttributeDefinitions(t *testing.T) {
	e := newSim(t)
	m := object.NewCustomFieldsManager(e.client.Client)
	def, err := m.Add(context.Background(), attrTask, "VirtualMachine", nil, nil)
	if err != nil {
		t.Fatalf("create field: %v", err)
	}
	d := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "detect", nil)
	state := startVM(t, d, cfg)

	vm := readVM(t, e, state.VMID, "customValue")
	got := customValues(vm.CustomValue, map[int32]string{def.Key: attrTask})
	if got[attrTask] != "detect" {
		t.Errorf("pre-existing field %s = %q, want %q", attrTask, got[attrTask], "detect")
	}
}

func TestRecoverTaskByCustomAttribute(t *testing.T) {
	e := newSim(t)
	first := e.newDriver(newManualClock(), nil)
	cfg := taskConfig(t, "recover", nil)
	state := startVM(t, first, cfg)
	real := state.VMID
	stripExtraConfigMarker(t, e, real)

	state.VMID = "vm-999999"
	stale, _ := newTaskHandle(cfg, state).toPlugin()
	second := e.newDriver(newManualClock(), nil)
	t.Cleanup(func() { second.DestroyTask(context.Background(), cfg.ID, true) })
	if err := second.RecoverTask(testContext(t), stale); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	status, err := second.InspectTask(context.Background(), cfg.ID)
	if err != nil {
		t.Fatalf("InspectTask: %v", err)
	}
	if status.Attributes["vm_id"] != real {
		t.Errorf("recovered vm_id = %q, want %q", status.Attributes["vm_id"], real)
	}

	other := taskConfig(t, "recover", nil)
	state.VMID = "vm-999998"
	missing, _ := newTaskHandle(other, state).toPlugin()
	err = second.RecoverTask(testContext(t), missing)
	if err == nil || !strings.Contains(err.Error(), other.AllocID) {
		t.Errorf("RecoverTask of another allocation = %v, want not found naming %q", err, other.AllocID)
	}
}

func TestOrphanFoundByCustomAttribute(t *testing.T) {
	e := newSim(t)
	cfg := e.pluginConfig()
	cfg.DestroyOrphans = true
	clk := newManualClock()
	d := e.newDriver(clk, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	task := taskConfig(t, "orphan", nil)
	state := startVM(t, d, task)
	// Subscribe after the start, so its power-on event is not read.
	events, _ := d.TaskEvents(ctx)
	stripExtraConfigMarker(t, e, state.VMID)
	h, _ := d.tasks.get(task.ID)
	h.stop()
	d.tasks.delete(task.ID)

	ch, _ := d.Fingerprint(ctx)
	nextFingerprint(t, ch)
	clk.fire(t, defaultFingerprintPeriod)
	ev := <-events

	if ev.AllocID != task.AllocID || !strings.Contains(ev.Message, "destroyed") {
		t.Errorf("event = %q for alloc %q, want destroyed for %q", ev.Message, ev.AllocID, task.AllocID)
	}
	if e.vmExists(state.VMID) {
		t.Errorf("orphan VM %q still exists", state.VMID)
	}
}

// lockedBuffer is a bytes.Buffer that a logger may write while a test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestCustomAttributesWithoutPermission(t *testing.T) {
	e := newSim(t)
	e.model.Service.AddFaultRule(&simulator.FaultInjectionRule{
		MethodName:  "AddCustomFieldDef",
		ObjectType:  "*",
		ObjectName:  "*",
		Probability: 1,
		FaultType:   simulator.FaultTypeNoPermission,
		Enabled:     true,
	})
	var logs lockedBuffer
	cfg := e.pluginConfig()
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	d := newDriver(hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn}), newManualClock())
	d.applyConfig(cfg)

	for _, name := range []string{"first", "second"} {
		task := taskConfig(t, name, nil)
		state := startVM(t, d, task)
		vm := readVM(t, e, state.VMID, "config.extraConfig")
		if got, _ := extraValue(vm.Config, keyTaskID); got != task.ID {
			t.Errorf("%s: extraConfig %s = %q, want %q", name, keyTaskID, got, task.ID)
		}
	}
	if n := strings.Count(logs.String(), "failed to create the custom attribute definitions"); n != 1 {
		t.Errorf("logged the missing permission %d times, want once; logs:\n%s", n, logs.String())
	}
	fields, err := object.NewCustomFieldsManager(e.client.Client).Field(context.Background())
	if err != nil {
		t.Fatalf("list custom fields: %v", err)
	}
	if len(fields) != 0 {
		t.Errorf("custom fields = %v, want none", fields)
	}
}
