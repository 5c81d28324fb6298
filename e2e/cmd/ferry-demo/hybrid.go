package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/vcsim"
)

const (
	reportJobspec = "jobspecs/report-vm.nomad.hcl"
	reportJob     = "report-vm"
	// reportTemplate is the template VM that report-vm.nomad.hcl clones.
	reportTemplate = "report-template"
	// dcNode is the Nomad client of the data center.
	dcNode = "dc-1"
)

// simulatedNote is the demo's statement of what the simulated VM did not do.
const simulatedNote = "vCenter is govmomi's simulator (vcsim) on loopback: the clone, power on and power off change only its inventory, " +
	"and the VM's guest is a Docker container of a busybox image, not a guest OS on a hypervisor. " +
	"vcsim stands in for VMware Tools by running guest programs with docker exec. " +
	"city-report really ran in that container, and its output came back through guest file transfers."

// vmResult is one VM task of the report job.
type vmResult struct {
	Task       string `json:"task"`
	VM         string `json:"vm"`
	PowerState string `json:"power_state"`
	// ExitCode is city-report's exit code in the guest.
	ExitCode int `json:"exit_code"`
}

// hybridResult is the data center part of the demo's output.
type hybridResult struct {
	VMs       []vmResult      `json:"vms"`
	Report    json.RawMessage `json:"report"`
	Simulated string          `json:"simulated"`
}

// startDatacenter builds city-report into the guest image and starts vcsim
// with the report template. The vsphere plugin comes from make build.
func startDatacenter(ctx context.Context, root, dir string) (*vcsim.Datacenter, cluster.ClientSpec, error) {
	plugin := filepath.Join(root, "bin", "plugins", "vsphere")
	if _, err := os.Stat(plugin); err != nil {
		return nil, cluster.ClientSpec{}, fmt.Errorf("vsphere plugin %q: %w (build it with make build)", plugin, err)
	}
	report := filepath.Join(dir, "city-report")
	build := exec.CommandContext(ctx, "go", "build", "-o", report, "./e2e/cmd/ferry-demo/cityreport")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, cluster.ClientSpec{}, fmt.Errorf("build city-report: %w: %s", err, out)
	}

	progress("starting vcsim on loopback with template %q", reportTemplate)
	dc, err := vcsim.StartDatacenter(ctx, vcsim.DatacenterConfig{
		Root: root, Dir: filepath.Join(dir, "vcsim"), Owner: "ferry-demo-" + filepath.Base(dir),
		Template: reportTemplate, GuestFiles: map[string]string{"bin/city-report": report},
	})
	if err != nil {
		return nil, cluster.ClientSpec{}, err
	}
	progress("vcsim serves %s", dc.URL)
	return dc, dc.ClientSpec(dcNode, plugin), nil
}

// runReport runs report-vm.nomad.hcl on the edge allocations' event counts,
// runs city-report in its VM with nomad alloc exec, and stops the job.
func runReport(ctx context.Context, c *cluster.Cluster, dc *vcsim.Datacenter, root string, placements []cluster.Placement) (*hybridResult, error) {
	if err := vcsim.WaitDriverHealthy(ctx, c, dcNode, "vsphere"); err != nil {
		return nil, err
	}
	events := eventList(placements)
	progress("nomad job run -var events=%s %s", events, reportJobspec)
	if _, err := c.Run(ctx, "job", "run", "-detach", "-var", "events="+events, filepath.Join(root, reportJobspec)); err != nil {
		return nil, err
	}
	allocID, err := waitFirstAlloc(ctx, c, reportJob)
	if err != nil {
		return nil, err
	}
	if _, err := c.WaitAllocRunning(ctx, allocID); err != nil {
		return nil, err
	}
	// The driver names a clone <task>-<first 8 characters of the alloc id>.
	vmPrefix := "report-" + allocID[:8]
	vms, err := dc.VMs(ctx, vmPrefix)
	if err != nil {
		return nil, err
	}
	if len(vms) != 1 {
		return nil, fmt.Errorf("expected 1 VM of job %q in vcsim, found %d", reportJob, len(vms))
	}

	progress("nomad alloc exec -task report %s city-report", allocID[:8])
	out, code, err := execReport(ctx, c, allocID)
	if err != nil {
		return nil, err
	}
	result := &hybridResult{
		VMs:       []vmResult{{Task: "report", VM: vms[0].Name, PowerState: vms[0].PowerState, ExitCode: code}},
		Report:    json.RawMessage(out),
		Simulated: simulatedNote,
	}
	if code != 0 || !json.Valid([]byte(out)) {
		return result, fmt.Errorf("city-report in VM %q exited %d with output %q", vms[0].Name, code, out)
	}
	return result, stopReport(ctx, c, dc, vmPrefix)
}

// eventList renders the placements as camera@node=count items.
func eventList(placements []cluster.Placement) string {
	items := make([]string, 0, len(placements))
	for _, p := range placements {
		items = append(items, fmt.Sprintf("%s@%s=%d", p.Camera, p.Node, max(p.Events, 0)))
	}
	return strings.Join(items, ",")
}

func waitFirstAlloc(ctx context.Context, c *cluster.Cluster, jobID string) (string, error) {
	var id string
	err := cluster.Poll(ctx, "an allocation of job "+jobID, func(ctx context.Context) (bool, error) {
		allocs, err := c.API.JobAllocations(ctx, jobID)
		if len(allocs) > 0 {
			id = allocs[0].ID
		}
		return id != "", err
	})
	return id, err
}

// execReport runs city-report in the VM and returns its output and exit
// code. A non-zero exit is a result, not an error.
func execReport(ctx context.Context, c *cluster.Cluster, allocID string) (string, int, error) {
	cmd := c.Command(ctx, "alloc", "exec", "-i=false", "-t=false", "-task", "report", allocID, "city-report")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode(), nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("nomad alloc exec: %w: %s", err, stderr.String())
	}
	return string(out), 0, nil
}

// stopReport stops the report job and waits until vcsim has no VM whose
// name starts with vmPrefix.
func stopReport(ctx context.Context, c *cluster.Cluster, dc *vcsim.Datacenter, vmPrefix string) error {
	progress("nomad job stop -detach %s", reportJob)
	if _, err := c.Run(ctx, "job", "stop", "-detach", reportJob); err != nil {
		return err
	}
	return cluster.Poll(ctx, "the report VM to be destroyed", func(ctx context.Context) (bool, error) {
		vms, err := dc.VMs(ctx, vmPrefix)
		return len(vms) == 0, err
	})
}
