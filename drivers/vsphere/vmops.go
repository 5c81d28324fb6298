package vsphere

import (
	"context"
	"fmt"
	"strconv"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// hooks are vSphere calls that tests replace to inject failures.
type hooks struct {
	powerOn func(ctx context.Context, vm *object.VirtualMachine) error
	// shutdownGuest requests a guest shutdown and returns without waiting.
	shutdownGuest func(ctx context.Context, vm *object.VirtualMachine) error
	// cloning is called with the number of clones in flight, this one
	// included, when a clone gets its slot.
	cloning func(inFlight int)
}

func defaultHooks() hooks {
	return hooks{
		powerOn:       powerOn,
		shutdownGuest: func(ctx context.Context, vm *object.VirtualMachine) error { return vm.ShutdownGuest(ctx) },
		cloning:       func(int) {},
	}
}

func powerOn(ctx context.Context, vm *object.VirtualMachine) error {
	task, err := vm.PowerOn(ctx)
	if err != nil {
		return err
	}
	return describeFault(task.Wait(ctx))
}

func isNotFound(err error) bool {
	return fault.Is(err, &types.ManagedObjectNotFound{})
}

// powerOff powers vm off from any state. A VM that is off or gone is fine.
func powerOff(ctx context.Context, vm *object.VirtualMachine) error {
	state, err := vm.PowerState(ctx)
	if isNotFound(err) || state == types.VirtualMachinePowerStatePoweredOff {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read power state of VM %q: %w", vm.Reference().Value, err)
	}
	task, err := vm.PowerOff(ctx)
	if err == nil {
		err = describeFault(task.Wait(ctx))
	}
	if err != nil && !fault.Is(err, &types.InvalidPowerState{}) && !isNotFound(err) {
		return fmt.Errorf("power off VM %q: %w", vm.Reference().Value, err)
	}
	return nil
}

// destroyAttempts bounds the power off and delete rounds of destroyVM.
const destroyAttempts = 3

// destroyVM powers vm off and deletes it with its disks. A VM that is
// already gone counts as destroyed. When the delete fails because the VM is
// powered on again, such as by an operator or a host that restarted it, it
// powers off and deletes again, up to destroyAttempts times.
func destroyVM(ctx context.Context, vm *object.VirtualMachine) error {
	var err error
	for range destroyAttempts {
		if err = powerOff(ctx, vm); err != nil {
			return err
		}
		var task *object.Task
		task, err = vm.Destroy(ctx)
		if err == nil {
			err = describeFault(task.Wait(ctx))
		}
		if err == nil || isNotFound(err) {
			return nil
		}
		if !fault.Is(err, &types.InvalidPowerState{}) {
			break
		}
	}
	return fmt.Errorf("destroy VM %q: %w", vm.Reference().Value, err)
}

// waitPoweredOff blocks until the VM is powered off, returning gone when it
// was deleted instead. It calls attached on the first update, which
// vCenter sends with the current state.
func waitPoweredOff(ctx context.Context, c *vim25.Client, ref types.ManagedObjectReference, attached func()) (gone bool, err error) {
	filter := new(property.WaitFilter).Add(ref, ref.Type, []string{"runtime.powerState"})
	first := true
	err = property.WaitForUpdates(ctx, property.DefaultCollector(c), filter, func(updates []types.ObjectUpdate) bool {
		if first {
			attached()
			first = false
		}
		for _, u := range updates {
			if u.Kind == types.ObjectUpdateKindLeave {
				gone = true
				return true
			}
			for _, ch := range u.ChangeSet {
				if ch.Val == types.VirtualMachinePowerStatePoweredOff {
					return true
				}
			}
		}
		return false
	})
	if isNotFound(err) {
		return true, nil
	}
	return gone, err
}

// readExitCode returns guestinfo.ferry.exit_code as the guest set it, or 0.
//
// NOTE: tests set the key through ReconfigVM on vcsim. Whether a value the
// guest sets with info-set shows in config.extraConfig was not checked on
// a real ESXi host.
func readExitCode(ctx context.Context, c *vim25.Client, ref types.ManagedObjectReference) (int32, error) {
	var vm mo.VirtualMachine
	pc := property.DefaultCollector(c)
	if err := pc.RetrieveOne(ctx, ref, []string{"config.extraConfig"}, &vm); err != nil {
		return 0, err
	}
	value, ok := extraValue(vm.Config, keyExitCode)
	if !ok || value == "" {
		return 0, nil
	}
	code, err := strconv.ParseInt(value, 10, 32)
	if err != nil {
		return 1, fmt.Errorf("invalid %s %q set by the guest: want an integer", keyExitCode, value)
	}
	return int32(code), nil
}

func extraValue(cfg *types.VirtualMachineConfigInfo, key string) (string, bool) {
	if cfg == nil {
		return "", false
	}
	for _, opt := range cfg.ExtraConfig {
		if v := opt.GetOptionValue(); v.Key == key {
			s, _ := v.Value.(string)
			return s, true
		}
	}
	return "", false
}

// taggedVM is a VM that carries this driver's ExtraConfig keys or, when
// those are missing, its custom attributes. A VM found by its attributes
// has no taskID.
type taggedVM struct {
	ref      types.ManagedObjectReference
	name     string
	taskID   string
	allocID  string
	taskName string
	nodeID   string
}

// belongsTo reports whether the VM was made for the task cfg: by task id
// when it has ExtraConfig keys, otherwise by allocation id and task name.
func (t taggedVM) belongsTo(cfg *plugins.TaskConfig) bool {
	if t.taskID != "" {
		return t.taskID == cfg.ID
	}
	return t.allocID == cfg.AllocID && t.taskName == cfg.Name
}

// vmMarkerProps are the properties readMarker needs.
var vmMarkerProps = []string{"name", "config.extraConfig", "customValue"}

// readMarker returns the task a VM is marked with, from its ExtraConfig
// keys or, without those, from the custom attributes in attrNames (field
// names by key). It reports false for a VM with neither.
func readMarker(vm mo.VirtualMachine, attrNames map[int32]string) (taggedVM, bool) {
	t := taggedVM{ref: vm.Reference(), name: vm.Name}
	if taskID, ok := extraValue(vm.Config, keyTaskID); ok {
		t.taskID = taskID
		t.allocID, _ = extraValue(vm.Config, keyAllocID)
		t.nodeID, _ = extraValue(vm.Config, keyNodeID)
		return t, true
	}
	attrs := customValues(vm.CustomValue, attrNames)
	if attrs[attrAllocID] == "" {
		return t, false
	}
	t.allocID, t.taskName, t.nodeID = attrs[attrAllocID], attrs[attrTask], attrs[attrNodeID]
	return t, true
}

// listTaggedVMs returns every VM with a guestinfo.ferry.task_id key or a
// nomad.alloc_id custom attribute.
func listTaggedVMs(ctx context.Context, c *vim25.Client) ([]taggedVM, error) {
	attrNames, err := attributeNames(ctx, c)
	if err != nil {
		return nil, err
	}
	m := view.NewManager(c)
	v, err := m.CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(context.Background()) }()

	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, vmMarkerProps, &vms); err != nil {
		return nil, err
	}
	var out []taggedVM
	for _, vm := range vms {
		if t, ok := readMarker(vm, attrNames); ok {
			out = append(out, t)
		}
	}
	return out, nil
}
