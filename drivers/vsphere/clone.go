package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// ExtraConfig keys that tag a VM as made by this driver.
const (
	keyTaskID   = "guestinfo.ferry.task_id"
	keyAllocID  = "guestinfo.ferry.alloc_id"
	keyNodeID   = "guestinfo.ferry.node_id"
	keyExitCode = "guestinfo.ferry.exit_code"
)

// vmName returns "<task>-<first 8 of alloc id>", with the last part of the
// task id appended when Nomad gave one, so that a restarted task does not
// collide with a VM of its earlier run.
func vmName(cfg *plugins.TaskConfig) string {
	alloc := cfg.AllocID
	if len(alloc) > 8 {
		alloc = alloc[:8]
	}
	name := cfg.Name + "-" + alloc
	if i := strings.LastIndex(cfg.ID, "/"); i >= 0 && i < len(cfg.ID)-1 {
		name += "-" + cfg.ID[i+1:]
	}
	return name
}

// placement is the template and the inventory objects a clone goes to. A
// task with a library item has no template.
type placement struct {
	template  *object.VirtualMachine
	folder    *object.Folder
	pool      *object.ResourcePool
	datastore *object.Datastore
	network   object.NetworkReference
	dcName    string
}

// resolvePlacement finds the inventory objects a task config names.
func resolvePlacement(ctx context.Context, c *govmomi.Client, p *PluginConfig, t *TaskConfig) (*placement, error) {
	finder := find.NewFinder(c.Client, true)
	dc, err := findDatacenter(ctx, finder, t.Datacenter)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	pl := &placement{dcName: dc.Name()}

	if t.Template != "" {
		pl.template, err = finder.VirtualMachine(ctx, t.Template)
		if err != nil {
			return nil, notFound(err, "template %q not found in datacenter %q: check the task's template field", t.Template, pl.dcName)
		}
	}
	if pl.folder, err = findFolder(ctx, finder, dc, t.Folder); err != nil {
		return nil, err
	}
	if pl.pool, err = findPool(ctx, finder, p.Cluster, t.ResourcePool); err != nil {
		return nil, err
	}
	if t.Datastore != "" {
		if pl.datastore, err = finder.Datastore(ctx, t.Datastore); err != nil {
			return nil, notFound(err, "datastore %q not found in datacenter %q: check datastore", t.Datastore, pl.dcName)
		}
	}
	if t.Network != "" {
		if pl.network, err = finder.Network(ctx, t.Network); err != nil {
			return nil, notFound(err, "network %q not found in datacenter %q: check network", t.Network, pl.dcName)
		}
	}
	return pl, nil
}

func findDatacenter(ctx context.Context, finder *find.Finder, name string) (*object.Datacenter, error) {
	if name == "" {
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			return nil, fmt.Errorf("no default datacenter (%w): set datacenter in the plugin or task config", err)
		}
		return dc, nil
	}
	dc, err := finder.Datacenter(ctx, name)
	if err != nil {
		return nil, notFound(err, "datacenter %q not found: check datacenter", name)
	}
	return dc, nil
}

func findFolder(ctx context.Context, finder *find.Finder, dc *object.Datacenter, path string) (*object.Folder, error) {
	if path == "" {
		folders, err := dc.Folders(ctx)
		if err != nil {
			return nil, fmt.Errorf("read folders of datacenter %q: %w", dc.Name(), err)
		}
		return folders.VmFolder, nil
	}
	folder, err := finder.Folder(ctx, path)
	if err != nil {
		return nil, notFound(err, "folder %q not found: check folder", path)
	}
	return folder, nil
}

func findPool(ctx context.Context, finder *find.Finder, cluster, pool string) (*object.ResourcePool, error) {
	switch {
	case pool != "":
		rp, err := finder.ResourcePool(ctx, pool)
		if err != nil {
			return nil, notFound(err, "resource pool %q not found: check resource_pool", pool)
		}
		return rp, nil
	case cluster != "":
		cr, err := finder.ClusterComputeResource(ctx, cluster)
		if err != nil {
			return nil, notFound(err, "cluster %q not found: check cluster", cluster)
		}
		return cr.ResourcePool(ctx)
	}
	rp, err := finder.DefaultResourcePool(ctx)
	if err != nil {
		return nil, fmt.Errorf("no default resource pool (%w): set cluster or resource_pool", err)
	}
	return rp, nil
}

// notFound keeps transport errors recoverable and turns a finder's
// not-found error into the message given.
func notFound(err error, format string, args ...any) error {
	var nf *find.NotFoundError
	if errors.As(err, &nf) {
		return fmt.Errorf(format, args...)
	}
	if isConnectionError(err) {
		return recoverable(err)
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// cloneSpec builds the clone of the template for one task.
func cloneSpec(ctx context.Context, pl *placement, t *TaskConfig, extra map[string]string) (*types.VirtualMachineCloneSpec, error) {
	var tmpl mo.VirtualMachine
	if err := pl.template.Properties(ctx, pl.template.Reference(), []string{"config.hardware.device", "snapshot"}, &tmpl); err != nil {
		return nil, fmt.Errorf("read template %q: %w", t.Template, err)
	}
	poolRef := pl.pool.Reference()
	spec := &types.VirtualMachineCloneSpec{
		Location: types.VirtualMachineRelocateSpec{Pool: &poolRef},
		Config: &types.VirtualMachineConfigSpec{
			NumCPUs:     int32(t.CPUs),
			MemoryMB:    int64(t.MemoryMB),
			ExtraConfig: extraConfig(extra),
		},
	}
	if pl.datastore != nil {
		ref := pl.datastore.Reference()
		spec.Location.Datastore = &ref
	}
	if t.LinkedClone {
		if tmpl.Snapshot == nil || tmpl.Snapshot.CurrentSnapshot == nil {
			return nil, fmt.Errorf("linked_clone needs a snapshot on template %q: take one or set linked_clone = false", t.Template)
		}
		spec.Snapshot = tmpl.Snapshot.CurrentSnapshot
		spec.Location.DiskMoveType = string(types.VirtualMachineRelocateDiskMoveOptionsCreateNewChildDiskBacking)
	}
	devices := object.VirtualDeviceList(tmpl.Config.Hardware.Device)
	changes, err := deviceChanges(ctx, pl, t, devices)
	if err != nil {
		return nil, err
	}
	spec.Config.DeviceChange = changes
	return spec, nil
}

// deviceChanges attaches the first network card to the chosen network and
// grows the first disk to disk_gb.
func deviceChanges(ctx context.Context, pl *placement, t *TaskConfig, devices object.VirtualDeviceList) ([]types.BaseVirtualDeviceConfigSpec, error) {
	var changes []types.BaseVirtualDeviceConfigSpec
	if pl.network != nil {
		nics := devices.SelectByType((*types.VirtualEthernetCard)(nil))
		if len(nics) == 0 {
			return nil, fmt.Errorf("%s has no network card to attach to network %q: remove network or add a card to the VM", t.source(), t.Network)
		}
		backing, err := pl.network.EthernetCardBackingInfo(ctx)
		if err != nil {
			return nil, fmt.Errorf("read network %q: %w", t.Network, err)
		}
		nic := nics[0]
		nic.GetVirtualDevice().Backing = backing
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: nic})
	}
	if t.DiskGB > 0 {
		disks := devices.SelectByType((*types.VirtualDisk)(nil))
		if len(disks) == 0 {
			return nil, fmt.Errorf("%s has no disk to grow to disk_gb %d: remove disk_gb", t.source(), t.DiskGB)
		}
		disk := disks[0].(*types.VirtualDisk)
		want := int64(t.DiskGB) * 1024 * 1024
		if want < disk.CapacityInKB {
			return nil, fmt.Errorf("invalid disk_gb %d: the disk of %s is %d GiB and disks cannot shrink", t.DiskGB, t.source(), disk.CapacityInKB/1024/1024)
		}
		disk.CapacityInKB, disk.CapacityInBytes = want, want*1024
		changes = append(changes, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: disk})
	}
	return changes, nil
}

// guestInfo returns the ExtraConfig keys of a task: its environment, then
// the task's guestinfo map, then the driver's tags, each later set winning.
func guestInfo(cfg *plugins.TaskConfig, t *TaskConfig) map[string]string {
	extra := make(map[string]string, len(cfg.Env)+len(t.guestInfo)+3)
	for k, v := range cfg.Env {
		extra["guestinfo."+k] = v
	}
	for k, v := range t.guestInfo {
		extra["guestinfo."+strings.TrimPrefix(k, "guestinfo.")] = v
	}
	extra[keyTaskID] = cfg.ID
	extra[keyAllocID] = cfg.AllocID
	extra[keyNodeID] = cfg.NodeID
	return extra
}

func extraConfig(m map[string]string) []types.BaseOptionValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.BaseOptionValue, 0, len(keys))
	for _, k := range keys {
		out = append(out, &types.OptionValue{Key: k, Value: m[k]})
	}
	return out
}
