package vsphere

import (
	"context"
	"fmt"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// Custom attributes that show a VM's allocation in the vSphere Client. The
// ExtraConfig keys remain the primary marker, because any user with
// Global.SetCustomField may change these.
const (
	attrAllocID = "nomad.alloc_id"
	attrTask    = "nomad.task"
	attrNodeID  = "nomad.node_id"
)

var attrNames = []string{attrAllocID, attrTask, attrNodeID}

// customAttributes creates the custom field definitions on first use and
// sets them on each started VM. When vCenter rejects a call, for example
// for lack of the Global.ManageCustomFields privilege, it logs one warning
// and the driver marks VMs with ExtraConfig alone.
type customAttributes struct {
	logger hclog.Logger

	mu sync.Mutex
	// keys are the field keys by name, filled once all three exist.
	keys   map[string]int32
	warned bool
}

// set writes the task's allocation id, task name and node id to the VM's
// custom attributes. Failures are logged, never returned.
func (a *customAttributes) set(ctx context.Context, c *vim25.Client, vm types.ManagedObjectReference, cfg *plugins.TaskConfig) {
	m, err := object.GetCustomFieldsManager(c)
	if err != nil {
		a.warnOnce("vCenter has no custom fields manager", cfg, err)
		return
	}
	keys, err := a.ensureKeys(ctx, m)
	if err != nil {
		a.warnOnce("failed to create the custom attribute definitions", cfg, err)
		return
	}
	values := map[string]string{attrAllocID: cfg.AllocID, attrTask: cfg.Name, attrNodeID: cfg.NodeID}
	for _, name := range attrNames {
		if err := m.Set(ctx, vm, keys[name], values[name]); err != nil {
			a.warnOnce("failed to set a custom attribute", cfg, fmt.Errorf("set %s on VM %q: %w", name, vm.Value, err))
			return
		}
	}
}

// ensureKeys returns the keys of the three field definitions, creating the
// missing ones for type VirtualMachine.
func (a *customAttributes) ensureKeys(ctx context.Context, m *object.CustomFieldsManager) (map[string]int32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys != nil {
		return a.keys, nil
	}
	keys, err := readAttributeKeys(ctx, m)
	if err != nil {
		return nil, err
	}
	for _, name := range attrNames {
		if _, ok := keys[name]; ok {
			continue
		}
		def, addErr := m.Add(ctx, name, "VirtualMachine", nil, nil)
		if fault.Is(addErr, &types.DuplicateName{}) {
			// Another plugin may have created it since the read.
			if keys, err = readAttributeKeys(ctx, m); err != nil {
				return nil, err
			}
			if _, ok := keys[name]; ok {
				continue
			}
		}
		if addErr != nil {
			return nil, fmt.Errorf("create custom attribute %q: %w", name, addErr)
		}
		keys[name] = def.Key
	}
	a.keys = keys
	return keys, nil
}

func (a *customAttributes) warnOnce(msg string, cfg *plugins.TaskConfig, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.warned {
		return
	}
	a.warned = true
	a.logger.Warn(msg+", so VMs are marked with ExtraConfig keys only", "task_id", cfg.ID, "alloc_id", cfg.AllocID, "error", err)
}

// reset clears the cached field keys, because a new config may name another
// vCenter.
func (a *customAttributes) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keys, a.warned = nil, false
}

// readAttributeKeys returns the keys of those of the three field
// definitions that exist for VirtualMachine or for every type.
func readAttributeKeys(ctx context.Context, m *object.CustomFieldsManager) (map[string]int32, error) {
	fields, err := m.Field(ctx)
	if err != nil {
		return nil, fmt.Errorf("read custom attribute definitions: %w", err)
	}
	keys := make(map[string]int32, len(attrNames))
	for _, f := range fields {
		if f.ManagedObjectType != "" && f.ManagedObjectType != "VirtualMachine" {
			continue
		}
		for _, name := range attrNames {
			if f.Name == name {
				keys[name] = f.Key
			}
		}
	}
	return keys, nil
}

// attributeNames returns the field names by key of the three field
// definitions, or nil when vCenter has none or no custom fields manager.
// It returns only connection errors, because without the definitions the
// ExtraConfig keys still mark the VMs.
func attributeNames(ctx context.Context, c *vim25.Client) (map[int32]string, error) {
	m, err := object.GetCustomFieldsManager(c)
	if err != nil {
		return nil, nil
	}
	keys, err := readAttributeKeys(ctx, m)
	if isConnectionError(err) {
		return nil, err
	}
	if err != nil {
		return nil, nil
	}
	names := make(map[int32]string, len(keys))
	for name, key := range keys {
		names[key] = name
	}
	return names, nil
}

// customValues returns a VM's custom attribute values by field name.
func customValues(values []types.BaseCustomFieldValue, names map[int32]string) map[string]string {
	out := make(map[string]string)
	for _, v := range values {
		sv, ok := v.(*types.CustomFieldStringValue)
		if !ok {
			continue
		}
		if name, ok := names[sv.Key]; ok && sv.Value != "" {
			out[name] = sv.Value
		}
	}
	return out
}
