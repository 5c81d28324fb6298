package vsphere

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ferry-video/ferry/plugins"
)

// Node attributes this driver sets.
const (
	attrVersion    = "driver.vsphere.version"
	attrDatacenter = "driver.vsphere.datacenter"
	attrCPUFree    = "driver.vsphere.cpu_free"
	attrMemoryFree = "driver.vsphere.memory_free"
)

// Fingerprint checks vCenter at once and then every fingerprint_period,
// sending a message when health or attributes changed. Each healthy check
// also looks for orphaned VMs.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *plugins.Fingerprint, error) {
	ch := make(chan *plugins.Fingerprint, 1)
	go func() {
		defer close(ch)
		var last *plugins.Fingerprint
		for {
			fp := d.fingerprint(ctx)
			if ctx.Err() != nil {
				return
			}
			if !sameFingerprint(last, fp) {
				select {
				case ch <- fp:
				case <-ctx.Done():
					return
				}
				last = fp
			}
			if fp.Health == plugins.HealthHealthy {
				d.scanOrphans(ctx)
			}
			select {
			case <-d.clock.After(d.conn.config().fingerprintPeriod):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func sameFingerprint(a, b *plugins.Fingerprint) bool {
	if a == nil || b == nil {
		return false
	}
	return a.Health == b.Health && a.Description == b.Description && maps.Equal(a.Attributes, b.Attributes)
}

// fingerprint checks the session and reads the node attributes, all within
// request_timeout, so that a vCenter that accepts connections but never
// responds turns the driver unhealthy.
func (d *Driver) fingerprint(ctx context.Context) *plugins.Fingerprint {
	cfg := d.conn.config()
	if !cfg.configured() {
		return &plugins.Fingerprint{Health: plugins.HealthUndetected, Description: errNotConfigured.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.requestTimeout)
	defer cancel()
	client, err := d.liveClient(ctx)
	if err != nil {
		return unhealthy(err)
	}
	attrs, err := readAttributes(ctx, client, cfg)
	if err != nil {
		d.connectionFailed(client, err)
		if errors.Is(err, context.DeadlineExceeded) {
			err = unreachable(cfg, err)
		}
		return unhealthy(err)
	}
	return &plugins.Fingerprint{Health: plugins.HealthHealthy, Description: "vCenter reachable", Attributes: attrs}
}

func unhealthy(err error) *plugins.Fingerprint {
	return &plugins.Fingerprint{Health: plugins.HealthUnhealthy, Description: err.Error()}
}

// liveClient returns a client whose session vCenter still accepts, logging
// in again once when it does not.
func (d *Driver) liveClient(ctx context.Context) (*govmomi.Client, error) {
	client, _, err := d.conn.get(ctx)
	if err != nil {
		return nil, err
	}
	session, err := client.SessionManager.UserSession(ctx)
	if err == nil && session != nil {
		return client, nil
	}
	d.conn.reset(client)
	if err != nil {
		d.logger.Debug("vCenter session check failed, logging in again", "error", err)
	}
	client, _, err = d.conn.get(ctx)
	return client, err
}

// readAttributes returns the version, the datacenter and the free capacity
// of the hosts in the configured cluster, or in the whole datacenter.
func readAttributes(ctx context.Context, c *govmomi.Client, cfg *PluginConfig) (map[string]plugins.Attribute, error) {
	finder := find.NewFinder(c.Client, true)
	dc, err := findDatacenter(ctx, finder, cfg.Datacenter)
	if err != nil {
		return nil, err
	}
	finder.SetDatacenter(dc)
	root := dc.Reference()
	if cfg.Cluster != "" {
		cluster, err := finder.ClusterComputeResource(ctx, cfg.Cluster)
		if err != nil {
			return nil, notFound(err, "cluster %q not found: check cluster", cfg.Cluster)
		}
		root = cluster.Reference()
	}
	cpuFree, memFree, err := freeCapacity(ctx, c, root)
	if err != nil {
		return nil, err
	}
	return map[string]plugins.Attribute{
		attrVersion:    plugins.StringAttribute(c.ServiceContent.About.Version),
		attrDatacenter: plugins.StringAttribute(dc.Name()),
		attrCPUFree:    plugins.IntAttribute(cpuFree, "MHz"),
		attrMemoryFree: plugins.IntAttribute(memFree, "MiB"),
	}, nil
}

// freeCapacity sums the hosts' CPU (MHz) and memory (MiB) minus their
// current use under root.
func freeCapacity(ctx context.Context, c *govmomi.Client, root types.ManagedObjectReference) (cpuMHz, memoryMB int64, err error) {
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, root, []string{"HostSystem"}, true)
	if err != nil {
		return 0, 0, fmt.Errorf("list hosts: %w", err)
	}
	defer func() { _ = v.Destroy(context.Background()) }()

	var hosts []mo.HostSystem
	if err := v.Retrieve(ctx, []string{"HostSystem"}, []string{"summary.hardware", "summary.quickStats"}, &hosts); err != nil {
		return 0, 0, fmt.Errorf("read host capacity: %w", err)
	}
	for _, h := range hosts {
		hw, q := h.Summary.Hardware, h.Summary.QuickStats
		if hw == nil {
			continue
		}
		cpuMHz += max(0, int64(hw.CpuMhz)*int64(hw.NumCpuCores)-int64(q.OverallCpuUsage))
		memoryMB += max(0, hw.MemorySize/mib-int64(q.OverallMemoryUsage))
	}
	return cpuMHz, memoryMB, nil
}
