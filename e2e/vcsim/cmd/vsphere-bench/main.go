// Command vsphere-bench measures the vsphere plugin binary against a
// ferry-vcsim process on loopback: StartTask (clone and power on, until
// the task runs) and DestroyTask durations for 1 and for 20 concurrent
// VMs, and the plugin's idle resident memory. It prints one JSON object.
//
// The VMs have no guest containers, so the figures are the driver's and
// the simulator's cost, not a real vCenter's clone time.
//
//	go build -o bin/plugins/vsphere ./plugins/cmd/vsphere
//	go run ./e2e/vcsim/cmd/vsphere-bench -plugin bin/plugins/vsphere
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/vcsim"
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// result is the printed JSON object.
type result struct {
	Simulator           string `json:"simulator"`
	MaxConcurrentClones int    `json:"max_concurrent_clones"`
	Runs                []run  `json:"runs"`
	// PluginIdleRSSKB is the plugin's VmRSS with a session and a
	// fingerprint stream open and no tasks, in KiB.
	PluginIdleRSSKB int64 `json:"plugin_idle_rss_kb"`
}

// run is the durations of rounds of vms concurrent tasks, in milliseconds.
type run struct {
	VMs       int     `json:"vms"`
	Rounds    int     `json:"rounds"`
	StartMs   summary `json:"start_to_running_ms"`
	DestroyMs summary `json:"destroy_ms"`
}

func main() {
	plugin := flag.String("plugin", "bin/plugins/vsphere", "vsphere plugin binary")
	rounds := flag.Int("rounds", 5, "rounds per concurrency level")
	flag.Parse()
	if err := bench(*plugin, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "vsphere-bench:", err)
		os.Exit(1)
	}
}

func bench(pluginPath string, rounds int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	root, err := cluster.RepoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "vsphere-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dc, err := vcsim.StartDatacenter(ctx, vcsim.DatacenterConfig{Root: root, Dir: dir, Owner: "vsphere-bench", NoGuest: true})
	if err != nil {
		return err
	}
	defer dc.Close()

	logger := hclog.New(&hclog.LoggerOptions{Name: "vsphere-bench", Level: hclog.Off})
	p, err := harness.Launch(pluginPath, nil, logger)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := configure(ctx, p, dc); err != nil {
		return err
	}
	res := result{Simulator: "ferry-vcsim (govmomi v0.56.0 simulator) on loopback, VMs without guest containers", MaxConcurrentClones: 4}
	if res.PluginIdleRSSKB, err = idleRSS(ctx, p); err != nil {
		return err
	}
	for _, vms := range []int{1, 20} {
		r, err := measure(ctx, p, dir, vms, rounds)
		if err != nil {
			return err
		}
		res.Runs = append(res.Runs, r)
	}
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(res)
}

// configure sends the plugin block of the simulator and opens a
// fingerprint stream, as a Nomad client does.
func configure(ctx context.Context, p *harness.Plugin, dc *vcsim.Datacenter) error {
	hcl := vcsim.PluginHCL(dc.URL, dc.Login)
	config := hcl[strings.Index(hcl, "config {")+len("config {") : strings.LastIndex(hcl, "}\n}")]
	if err := p.SetConfigHCL(ctx, []byte(config), "vsphere.hcl", &plugins.AgentConfig{}); err != nil {
		return fmt.Errorf("SetConfig: %w", err)
	}
	stream, err := p.Driver.Fingerprint(ctx)
	if err != nil {
		return err
	}
	fp, err := stream.Recv()
	if err != nil {
		return err
	}
	if fp.Health != plugins.HealthHealthy {
		return fmt.Errorf("vsphere fingerprint is %v: %s", fp.Health, fp.Description)
	}
	go func() {
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	return nil
}
