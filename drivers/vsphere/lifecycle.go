package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// StartTask clones the task's VM from its template or deploys it from its
// content library item, tags it with the task, powers it on and starts
// watching its power state. A VM that fails to power on is destroyed.
func (d *Driver) StartTask(ctx context.Context, cfg *plugins.TaskConfig) (*plugins.TaskHandle, *plugins.NetworkOverride, error) {
	if !d.tasks.reserve(cfg.ID) {
		return nil, nil, fmt.Errorf("task %q is already started", cfg.ID)
	}
	defer d.tasks.release(cfg.ID)

	client, plugin, err := d.conn.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	task := &TaskConfig{}
	if err := plugins.DecodeConfig(cfg.DriverConfig, task); err != nil {
		return nil, nil, fmt.Errorf("decode task config: %w", err)
	}
	var cpuMHz, memoryMB int64
	if cfg.Resources != nil {
		cpuMHz, memoryMB = cfg.Resources.CPUShares, cfg.Resources.MemoryMB
	}
	if err := task.validate(plugin, cpuMHz, memoryMB); err != nil {
		return nil, nil, err
	}

	create := d.cloneVM
	if task.LibraryItem != "" {
		create = d.deployVM
	}
	vm, err := create(ctx, client, plugin, cfg, task)
	if err != nil {
		return nil, nil, d.connectionFailed(client, err)
	}
	d.attrs.set(ctx, client.Client, vm.Reference(), cfg)
	if err := d.hooks.powerOn(ctx, vm); err != nil {
		d.discardClone(vm, cfg.ID)
		return nil, nil, d.connectionFailed(client, fmt.Errorf("power on VM %q: %w", vmName(cfg), err))
	}

	h := newTaskHandle(cfg, taskState{
		VMID:      vm.Reference().Value,
		VMName:    vmName(cfg),
		StopMode:  task.StopMode,
		StartedAt: d.clock.Now(),
	})
	handle, err := h.toPlugin()
	if err != nil {
		d.discardClone(vm, cfg.ID)
		return nil, nil, err
	}
	d.tasks.add(h)
	d.orphans.addNode(cfg.NodeID)
	d.watch(h)
	d.logger.Info("started VM", "task_id", cfg.ID, "alloc_id", cfg.AllocID, "vm_id", h.state.VMID, "vm_name", h.state.VMName)
	d.events.Publish(&plugins.TaskEvent{
		TaskID: cfg.ID, AllocID: cfg.AllocID, TaskName: cfg.Name, Timestamp: d.clock.Now(),
		Message:     fmt.Sprintf("Powered on VM %s (%s) from %s", h.state.VMName, h.state.VMID, task.source()),
		Annotations: map[string]string{"vm_name": h.state.VMName, "vm_id": h.state.VMID},
	})
	return handle, nil, nil
}

// cloneVM clones the template while holding a clone slot.
func (d *Driver) cloneVM(ctx context.Context, c *govmomi.Client, p *PluginConfig, cfg *plugins.TaskConfig, t *TaskConfig) (*object.VirtualMachine, error) {
	pl, err := resolvePlacement(ctx, c, p, t)
	if err != nil {
		return nil, err
	}
	spec, err := cloneSpec(ctx, pl, t, guestInfo(cfg, t))
	if err != nil {
		return nil, err
	}

	release, err := d.acquireCloneSlot(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()

	task, err := pl.template.Clone(ctx, pl.folder, vmName(cfg), *spec)
	if err != nil {
		return nil, fmt.Errorf("clone template %q: %w", t.Template, err)
	}
	info, err := task.WaitForResult(ctx)
	if err != nil {
		return nil, fmt.Errorf("clone template %q to VM %q: %w", t.Template, vmName(cfg), describeFault(err))
	}
	return object.NewVirtualMachine(c.Client, info.Result.(types.ManagedObjectReference)), nil
}

// acquireCloneSlot waits for one of max_concurrent_clones slots, which
// clones and library deployments share, and returns its release.
func (d *Driver) acquireCloneSlot(ctx context.Context, p *PluginConfig) (func(), error) {
	clones := p.clones
	select {
	case clones <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a clone slot: %w", ctx.Err())
	}
	d.hooks.cloning(len(clones))
	return func() { <-clones }, nil
}

// discardClone destroys a VM that StartTask made but cannot hand to Nomad.
func (d *Driver) discardClone(vm *object.VirtualMachine, taskID string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := destroyVM(ctx, vm); err != nil {
		d.logger.Error("failed to destroy the VM of a failed start", "task_id", taskID, "vm_id", vm.Reference().Value, "error", err)
	}
}

// connectionFailed drops the session when err came from the transport and
// marks err Recoverable, because a later attempt may reach vCenter.
func (d *Driver) connectionFailed(client *govmomi.Client, err error) error {
	if isConnectionError(err) {
		d.conn.reset(client)
		return recoverable(err)
	}
	return err
}

// RecoverTask re-attaches to the VM in the handle's driver state, or, when
// that id is gone or names another VM, to the VM marked with the task.
func (d *Driver) RecoverTask(ctx context.Context, handle *plugins.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return fmt.Errorf("recover task: handle has no task config")
	}
	if d.tasks.known(handle.Config.ID) {
		return nil
	}
	state, err := decodeTaskState(handle)
	if err != nil {
		return err
	}
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return err
	}
	ref, err := d.locateVM(ctx, client, handle.Config, state)
	if err != nil {
		return d.connectionFailed(client, err)
	}
	state.VMID = ref.Value

	h := newTaskHandle(handle.Config, state)
	if !d.tasks.add(h) {
		return nil
	}
	d.orphans.addNode(handle.Config.NodeID)
	d.watch(h)
	d.logger.Info("recovered VM", "task_id", handle.Config.ID, "vm_id", state.VMID, "vm_name", state.VMName)
	return nil
}

// locateVM checks that the VM id in state still carries the task's marker
// and otherwise looks the task's VM up by its marker: the ExtraConfig task
// id, or the nomad.alloc_id and nomad.task custom attributes.
func (d *Driver) locateVM(ctx context.Context, c *govmomi.Client, cfg *plugins.TaskConfig, state taskState) (types.ManagedObjectReference, error) {
	attrNames, err := attributeNames(ctx, c.Client)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("recover task %q: %w", cfg.ID, err)
	}
	var vm mo.VirtualMachine
	err = property.DefaultCollector(c.Client).RetrieveOne(ctx, state.ref(), vmMarkerProps, &vm)
	if err == nil {
		if t, ok := readMarker(vm, attrNames); ok && t.belongsTo(cfg) {
			return state.ref(), nil
		}
	} else if !isNotFound(err) {
		return types.ManagedObjectReference{}, fmt.Errorf("read VM %q of task %q: %w", state.VMID, cfg.ID, err)
	}

	tagged, err := listTaggedVMs(ctx, c.Client)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("list VMs to recover task %q: %w", cfg.ID, err)
	}
	for _, t := range tagged {
		if t.belongsTo(cfg) {
			d.logger.Warn("VM id in task handle is stale, found the VM by its marker", "task_id", cfg.ID, "old_vm_id", state.VMID, "vm_id", t.ref.Value)
			return t.ref, nil
		}
	}
	return types.ManagedObjectReference{}, fmt.Errorf("VM of task %q not found: no VM has id %q, %s %q or %s %q with %s %q",
		cfg.ID, state.VMID, keyTaskID, cfg.ID, attrAllocID, cfg.AllocID, attrTask, cfg.Name)
}

// WaitTask returns the task's exit result once its VM has powered off.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (*plugins.ExitResult, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil, plugins.ErrTaskNotFound
	}
	select {
	case <-h.done:
		res := *h.exitResult()
		return &res, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// InspectTask returns the task's state and its VM's id and name.
func (d *Driver) InspectTask(_ context.Context, taskID string) (*plugins.TaskStatus, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil, plugins.ErrTaskNotFound
	}
	return h.status(), nil
}

// DestroyTask powers the VM off whatever its state and deletes it. It
// succeeds for a task that is not tracked, so that repeated calls are
// harmless.
func (d *Driver) DestroyTask(ctx context.Context, taskID string, force bool) error {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil
	}
	if h.exitResult() == nil && !force {
		return fmt.Errorf("task %q is still running: stop it first or destroy with force", taskID)
	}
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return err
	}
	if err := destroyVM(ctx, object.NewVirtualMachine(client.Client, h.state.ref())); err != nil {
		return d.connectionFailed(client, err)
	}
	h.stop()
	h.setExit(&plugins.ExitResult{Err: "VM destroyed"}, d.clock.Now())
	d.tasks.delete(taskID)
	d.logger.Info("destroyed VM", "task_id", taskID, "vm_id", h.state.VMID, "vm_name", h.state.VMName)
	return nil
}
