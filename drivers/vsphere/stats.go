package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

const mib = 1024 * 1024

// TaskStats sends the VM's quick stats every interval until ctx is done.
// vCenter refreshes quick stats on its own schedule, so short intervals
// may repeat values.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *plugins.TaskResourceUsage, error) {
	h, ok := d.tasks.get(taskID)
	if !ok {
		return nil, plugins.ErrTaskNotFound
	}
	ch := make(chan *plugins.TaskResourceUsage)
	go func() {
		defer close(ch)
		for {
			if usage, err := d.sampleStats(ctx, h); err != nil {
				d.logger.Debug("failed to read VM stats", "task_id", taskID, "vm_id", h.state.VMID, "error", err)
			} else {
				select {
				case ch <- usage:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-d.clock.After(interval):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// sampleStats reads summary.quickStats: CPU in MHz, and guest (active) and
// host (consumed) memory in MB.
func (d *Driver) sampleStats(ctx context.Context, h *taskHandle) (*plugins.TaskResourceUsage, error) {
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return nil, err
	}
	var vm mo.VirtualMachine
	props := []string{"summary.quickStats", "summary.runtime.maxCpuUsage"}
	if err := property.DefaultCollector(client.Client).RetrieveOne(ctx, h.state.ref(), props, &vm); err != nil {
		return nil, d.connectionFailed(client, err)
	}
	return usageFromSummary(vm.Summary, d.clock.Now()), nil
}

func usageFromSummary(s types.VirtualMachineSummary, now time.Time) *plugins.TaskResourceUsage {
	q := s.QuickStats
	usage := &plugins.TaskResourceUsage{
		Timestamp: now,
		CPU: plugins.CPUUsage{
			TotalTicks: float64(q.OverallCpuUsage),
			Measured:   []string{"Total Ticks"},
		},
		Memory: plugins.MemoryUsage{
			RSS:      uint64(q.HostMemoryUsage) * mib,
			Usage:    uint64(q.GuestMemoryUsage) * mib,
			Measured: []string{"RSS", "Usage"},
		},
	}
	if s.Runtime.MaxCpuUsage > 0 {
		usage.CPU.Percent = 100 * float64(q.OverallCpuUsage) / float64(s.Runtime.MaxCpuUsage)
		usage.CPU.Measured = append(usage.CPU.Measured, "Percent")
	}
	return usage
}
