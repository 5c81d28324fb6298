package vsphere

import (
	"context"
	"fmt"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"

	"github.com/ferry-video/ferry/plugins"
)

// orphanSightings is how many fingerprint scans in a row must find a VM's
// task unknown before it counts as an orphan, so that a task Nomad is about
// to recover is not taken for one.
const orphanSightings = 2

// orphanTracker counts unknown VMs and the node ids of this plugin's tasks.
// Only VMs tagged with one of those nodes are considered, because several
// Nomad clients may share one vCenter.
type orphanTracker struct {
	mu    sync.Mutex
	nodes map[string]bool
	seen  map[string]int
}

func newOrphanTracker() *orphanTracker {
	return &orphanTracker{nodes: make(map[string]bool), seen: make(map[string]int)}
}

func (o *orphanTracker) addNode(id string) {
	if id == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.nodes[id] = true
}

// sight records one scan's unknown VMs by VM id and returns those seen in
// orphanSightings scans in a row.
func (o *orphanTracker) sight(unknown []taggedVM) []taggedVM {
	o.mu.Lock()
	defer o.mu.Unlock()
	next := make(map[string]int, len(unknown))
	var orphans []taggedVM
	for _, vm := range unknown {
		if !o.nodes[vm.nodeID] {
			continue
		}
		next[vm.ref.Value] = o.seen[vm.ref.Value] + 1
		if next[vm.ref.Value] == orphanSightings {
			orphans = append(orphans, vm)
		}
	}
	o.seen = next
	return orphans
}

// scanOrphans reports VMs of this node whose task is unknown, and destroys
// them when destroy_orphans is set.
//
// NOTE: node ids are learnt from StartTask and RecoverTask, so a plugin
// that has had no task since it started finds no orphans.
func (d *Driver) scanOrphans(ctx context.Context) {
	client, cfg, err := d.conn.get(ctx)
	if err != nil {
		return
	}
	tagged, err := listTaggedVMs(ctx, client.Client)
	if err != nil {
		d.logger.Warn("failed to list VMs for orphans", "error", err)
		return
	}
	var unknown []taggedVM
	for _, vm := range tagged {
		if !d.tasks.owns(vm) {
			unknown = append(unknown, vm)
		}
	}
	for _, vm := range d.orphans.sight(unknown) {
		d.handleOrphan(ctx, client.Client, cfg, vm)
	}
}

func (d *Driver) handleOrphan(ctx context.Context, c *vim25.Client, cfg *PluginConfig, vm taggedVM) {
	action := "kept, because destroy_orphans is false"
	if cfg.DestroyOrphans {
		action = "destroyed"
		if err := destroyVM(ctx, object.NewVirtualMachine(c, vm.ref)); err != nil {
			action = fmt.Sprintf("not destroyed: %v", err)
		}
	}
	d.logger.Warn("found an orphaned VM", "vm_id", vm.ref.Value, "vm_name", vm.name, "task_id", vm.taskID, "alloc_id", vm.allocID, "action", action)
	d.events.Publish(&plugins.TaskEvent{
		TaskID:    vm.taskID,
		AllocID:   vm.allocID,
		Timestamp: d.clock.Now(),
		Message:   fmt.Sprintf("VM %q has no task on this node; %s", vm.name, action),
		Annotations: map[string]string{
			"vm_id": vm.ref.Value,
		},
	})
}
