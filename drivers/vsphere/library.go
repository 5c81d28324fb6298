package vsphere

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// deployVM deploys the task's content library item through the vCenter
// REST API while holding a clone slot. It then reconfigures the VM with
// the task's size, network, disk and guestinfo, as cloneSpec does for a
// clone, and destroys the VM when that fails.
//
// Only tasks with a library_item open a REST session, so the fingerprint
// and template tasks work where the REST API is unavailable.
func (d *Driver) deployVM(ctx context.Context, c *govmomi.Client, p *PluginConfig, cfg *plugins.TaskConfig, t *TaskConfig) (*object.VirtualMachine, error) {
	pl, err := resolvePlacement(ctx, c, p, t)
	if err != nil {
		return nil, err
	}
	rc, err := loginREST(ctx, c, p)
	if err != nil {
		return nil, err
	}
	defer d.logoutREST(rc)
	itemID, err := findLibraryItem(ctx, library.NewManager(rc), t)
	if err != nil {
		return nil, err
	}

	release, err := d.acquireCloneSlot(ctx, p)
	if err != nil {
		return nil, err
	}
	defer release()

	deployer := vcenter.NewManager(rc)
	spec := deploySpec(pl, vmName(cfg))
	if pl.network != nil {
		if spec.NetworkMappings, err = mapNetworks(ctx, deployer, itemID, spec.Target, pl.network); err != nil {
			return nil, fmt.Errorf("read the networks of %s: %w", t.source(), err)
		}
	}
	ref, err := deployer.DeployLibraryItem(ctx, itemID, spec)
	if err != nil {
		return nil, fmt.Errorf("deploy %s to VM %q: %w", t.source(), vmName(cfg), err)
	}
	vm := object.NewVirtualMachine(c.Client, *ref)
	if err := reconfigureDeployed(ctx, vm, pl, t, guestInfo(cfg, t)); err != nil {
		d.discardClone(vm, cfg.ID)
		return nil, err
	}
	return vm, nil
}

// loginREST opens a vCenter REST API session with the plugin's
// credentials. The caller logs it out.
func loginREST(ctx context.Context, c *govmomi.Client, p *PluginConfig) (*rest.Client, error) {
	rc := rest.NewClient(c.Client)
	if err := rc.Login(ctx, url.UserPassword(p.Username, p.password)); err != nil {
		if isConnectionError(err) {
			return nil, recoverable(fmt.Errorf("log in to the vCenter REST API as %q: %w", p.Username, err))
		}
		return nil, fmt.Errorf("log in to the vCenter REST API as %q, which library_item needs: %w", p.Username, err)
	}
	return rc, nil
}

func (d *Driver) logoutREST(rc *rest.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := rc.Logout(ctx); err != nil {
		d.logger.Debug("failed to log out of the vCenter REST API", "error", err)
	}
}

// findLibraryItem returns the id of the OVF item t.item in the content
// library t.library.
func findLibraryItem(ctx context.Context, m *library.Manager, t *TaskConfig) (string, error) {
	libraries, err := m.FindLibrary(ctx, library.Find{Name: t.library})
	if err != nil {
		return "", fmt.Errorf("find content library %q of library_item %q: %w", t.library, t.LibraryItem, err)
	}
	if len(libraries) == 0 {
		return "", fmt.Errorf("content library %q not found: check the library name in library_item %q", t.library, t.LibraryItem)
	}
	items, err := m.FindLibraryItems(ctx, library.FindItem{LibraryID: libraries[0], Name: t.item})
	if err != nil {
		return "", fmt.Errorf("find item %q in content library %q: %w", t.item, t.library, err)
	}
	if len(items) == 0 {
		return "", fmt.Errorf("item %q not found in content library %q: check the item name in library_item %q", t.item, t.library, t.LibraryItem)
	}
	item, err := m.GetLibraryItem(ctx, items[0])
	if err != nil {
		return "", fmt.Errorf("read %s: %w", t.source(), err)
	}
	if item.Type != library.ItemTypeOVF {
		return "", fmt.Errorf("invalid library_item %q of type %q: only %q items can be deployed, so name an OVF template item or set template instead", t.LibraryItem, item.Type, library.ItemTypeOVF)
	}
	return item.ID, nil
}

// mapNetworks maps every network of the OVF item to network, as the task's
// network option attaches a clone's card.
//
// NOTE: vcsim's filter call returns no networks, so the mappings are only
// built against a real vCenter. The reconfigure after the deployment
// attaches the first card in either case.
func mapNetworks(ctx context.Context, m *vcenter.Manager, itemID string, target vcenter.Target, network object.NetworkReference) ([]vcenter.NetworkMapping, error) {
	filter, err := m.FilterLibraryItem(ctx, itemID, vcenter.FilterRequest{Target: target})
	if err != nil {
		return nil, err
	}
	mappings := make([]vcenter.NetworkMapping, 0, len(filter.Networks))
	for _, name := range filter.Networks {
		mappings = append(mappings, vcenter.NetworkMapping{Key: name, Value: network.Reference().Value})
	}
	return mappings, nil
}

// deploySpec places the VM named name in the task's resource pool, folder
// and datastore.
//
// NOTE: without a datastore setting the spec names none. vcsim then takes
// the first datastore, and how vCenter chooses one has not been tested.
func deploySpec(pl *placement, name string) vcenter.Deploy {
	spec := vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: name, AcceptAllEULA: true},
		Target: vcenter.Target{
			ResourcePoolID: pl.pool.Reference().Value,
			FolderID:       pl.folder.Reference().Value,
		},
	}
	if pl.datastore != nil {
		spec.DefaultDatastoreID = pl.datastore.Reference().Value
	}
	return spec
}

// reconfigureDeployed sets the CPUs, memory, ExtraConfig, network and disk
// size of a deployed VM.
func reconfigureDeployed(ctx context.Context, vm *object.VirtualMachine, pl *placement, t *TaskConfig, extra map[string]string) error {
	var deployed mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.hardware.device"}, &deployed); err != nil {
		return fmt.Errorf("read VM %q deployed from %s: %w", vm.Reference().Value, t.source(), err)
	}
	changes, err := deviceChanges(ctx, pl, t, object.VirtualDeviceList(deployed.Config.Hardware.Device))
	if err != nil {
		return err
	}
	spec := types.VirtualMachineConfigSpec{
		NumCPUs:      int32(t.CPUs),
		MemoryMB:     int64(t.MemoryMB),
		ExtraConfig:  extraConfig(extra),
		DeviceChange: changes,
	}
	task, err := vm.Reconfigure(ctx, spec)
	if err == nil {
		err = describeFault(task.Wait(ctx))
	}
	if err != nil {
		return fmt.Errorf("reconfigure VM %q deployed from %s: %w", vm.Reference().Value, t.source(), err)
	}
	return nil
}
