package vcsim

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// TemplateName is the default template VM of a Datacenter.
const TemplateName = "ferry-template"

// DatacenterConfig describes a simulated data center for a Nomad client.
type DatacenterConfig struct {
	// Root is the repository checkout, for building ferry-vcsim.
	Root string
	// Dir receives the password files and the simulator's log.
	Dir string
	// Owner labels the VMs' containers.
	Owner string
	// Template is the template VM's name. Default TemplateName.
	Template string
	// GuestFiles are extra files of the guest image, as BuildGuestImage
	// takes them.
	GuestFiles map[string]string
	// NoGuest leaves VMs without a container, so they start faster but
	// run no guest programs.
	NoGuest bool
}

// Datacenter is a ferry-vcsim process whose clones are containers of
// GuestImage running sleep, unless NoGuest was set, with the login of its
// vsphere plugin block.
type Datacenter struct {
	*Process
	Login Login
}

// StartDatacenter builds ferry-vcsim and the guest image and starts the
// simulator.
func StartDatacenter(ctx context.Context, cfg DatacenterConfig) (*Datacenter, error) {
	if cfg.Template == "" {
		cfg.Template = TemplateName
	}
	cache, err := DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	bin, err := Build(ctx, cfg.Root, cache)
	if err != nil {
		return nil, err
	}

	pcfg := ProcessConfig{
		Binary: bin, Template: cfg.Template, Owner: cfg.Owner, LogPath: filepath.Join(cfg.Dir, "vcsim.log"),
	}
	if !cfg.NoGuest {
		if err := BuildGuestImage(ctx, cfg.GuestFiles); err != nil {
			return nil, err
		}
		pcfg.GuestImage, pcfg.GuestCommand = GuestImage, []string{"sleep", "86400"}
	}

	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	login, err := WriteLogin(cfg.Dir)
	if err != nil {
		return nil, err
	}
	pcfg.Username, pcfg.PasswordFile = login.Username, login.PasswordFile
	p, err := Start(ctx, pcfg)
	if err != nil {
		return nil, err
	}
	return &Datacenter{Process: p, Login: login}, nil
}

// ClientSpec returns a Nomad client that loads the vsphere plugin binary
// with this data center in its plugin block.
func (d *Datacenter) ClientSpec(name, plugin string) cluster.ClientSpec {
	return cluster.ClientSpec{
		Name:     name,
		Plugins:  map[string]string{"vsphere": plugin},
		ExtraHCL: PluginHCL(d.URL, d.Login),
	}
}

// VM is a VM of the simulated inventory.
type VM struct {
	Name       string
	PowerState string
}

// VMs returns the VMs whose name starts with prefix.
func (d *Datacenter) VMs(ctx context.Context, prefix string) ([]VM, error) {
	c, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Logout(context.Background()) }()
	v, err := view.NewManager(c.Client).CreateContainerView(ctx, c.ServiceContent.RootFolder, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, err
	}
	defer func() { _ = v.Destroy(context.Background()) }()
	var all []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "runtime.powerState"}, &all); err != nil {
		return nil, fmt.Errorf("list VMs in vcsim: %w", err)
	}
	var vms []VM
	for _, vm := range all {
		if strings.HasPrefix(vm.Name, prefix) {
			vms = append(vms, VM{Name: vm.Name, PowerState: string(vm.Runtime.PowerState)})
		}
	}
	return vms, nil
}

// PowerOff powers off the VM named name, as an operator would in vCenter.
func (d *Datacenter) PowerOff(ctx context.Context, name string) error {
	c, err := d.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(context.Background()) }()
	vm, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, "/DC0/vm/"+name)
	if err != nil {
		return fmt.Errorf("find VM %q in vcsim: %w", name, err)
	}
	task, err := vm.PowerOff(ctx)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("power off VM %q: %w", name, err)
	}
	return nil
}

func (d *Datacenter) connect(ctx context.Context) (*govmomi.Client, error) {
	u, err := url.Parse(d.URL)
	if err != nil {
		return nil, err
	}
	password, err := os.ReadFile(d.Login.PasswordFile)
	if err != nil {
		return nil, err
	}
	u.User = url.UserPassword(d.Login.Username, strings.TrimRight(string(password), "\n"))
	c, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return nil, fmt.Errorf("log in to vcsim at %s: %w", d.URL, err)
	}
	return c, nil
}

// WaitDriverHealthy waits until node reports the driver detected and
// healthy.
func WaitDriverHealthy(ctx context.Context, c *cluster.Cluster, node, driver string) error {
	return WaitDriverHealth(ctx, c, node, driver, true, "")
}

// WaitDriverHealth waits until node reports the driver detected, with the
// health given and a health description that contains text.
func WaitDriverHealth(ctx context.Context, c *cluster.Cluster, node, driver string, healthy bool, text string) error {
	var last string
	condition := fmt.Sprintf("driver %q on node %q with healthy=%t and %q", driver, node, healthy, text)
	err := cluster.Poll(ctx, condition, func(ctx context.Context) (bool, error) {
		nodes, err := c.API.Nodes(ctx)
		if err != nil {
			return false, err
		}
		for _, n := range nodes {
			if n.Name == node {
				info := n.Drivers[driver]
				last = info.HealthDescription
				return info.Detected && info.Healthy == healthy && strings.Contains(last, text), nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last health: %q)", err, last)
	}
	return nil
}
