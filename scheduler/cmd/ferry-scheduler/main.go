// Command ferry-scheduler keeps Nomad template jobs expanded into one task
// group per camera, each pinned to a node that holds the camera's video.
//
//	ferry-scheduler run [flags]              reconcile until stopped
//	ferry-scheduler plan [flags] JOBFILE     print the placement of a job, register nothing
//	ferry-scheduler status [flags]           print cameras, holders, groups and allocations
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ferry-video/ferry/scheduler/service"
	consulapi "github.com/hashicorp/consul/api"
	nomadapi "github.com/hashicorp/nomad/api"
)

// usage is the help text of the command.
const usage = `Usage:
  ferry-scheduler run [flags]              reconcile until stopped
  ferry-scheduler plan [flags] JOBFILE     print the placement of a job, register nothing
  ferry-scheduler status [flags]           print cameras, holders, groups and allocations
  ferry-scheduler COMMAND -h               list the flags of a command
`

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		// The flag set has printed its usage.
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-scheduler:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	if len(args) > 0 && slices.Contains([]string{"help", "-h", "-help", "--help"}, args[0]) {
		_, err := io.WriteString(stdout, usage)
		return err
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("missing command: use run, plan JOBFILE or status, or help")
	}
	mode, args := args[0], args[1:]
	switch mode {
	case "run":
		return runService(args)
	case "plan":
		return runPlan(args, stdout)
	case "status":
		return runStatus(args, stdout)
	}
	return fmt.Errorf("unknown command %q: use run, plan JOBFILE or status", mode)
}

// clientFlags are the flags every command uses to reach Consul and Nomad.
type clientFlags struct {
	consulAddr  string
	nomadAddr   string
	serviceName string
	kvPrefix    string
	output      string
}

func (c *clientFlags) register(fs *flag.FlagSet, withOutput bool) {
	fs.StringVar(&c.consulAddr, "consul-addr", "127.0.0.1:8500", "Consul agent HTTP address, host:port")
	fs.StringVar(&c.nomadAddr, "nomad-addr", "", "Nomad HTTP address; http:// is added when it has no scheme (default $NOMAD_ADDR, else http://127.0.0.1:4646)")
	fs.StringVar(&c.serviceName, "service-name", "camera-storage", "Consul service that the storage registrars publish")
	fs.StringVar(&c.kvPrefix, "kv-prefix", "ferry/storage", "Consul KV folder of the registrars' per-camera documents")
	if withOutput {
		fs.StringVar(&c.output, "o", "text", "output format, text or json")
	}
}

func (c *clientFlags) validate() error {
	if c.output != "" && c.output != "text" && c.output != "json" {
		return fmt.Errorf("-o %q: unknown output format; use text or json", c.output)
	}
	if c.serviceName == "" {
		return fmt.Errorf("-service-name is empty; give the storage service name, such as camera-storage")
	}
	return nil
}

func (c *clientFlags) clients() (*consulapi.Client, *nomadapi.Client, error) {
	consulCfg := consulapi.DefaultConfig()
	consulCfg.Address = c.consulAddr
	consul, err := consulapi.NewClient(consulCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("consul client for %q: %w", c.consulAddr, err)
	}
	nomadCfg := c.nomadConfig()
	nomad, err := nomadapi.NewClient(nomadCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("nomad client for %q: %w", nomadCfg.Address, err)
	}
	return consul, nomad, nil
}

// nomadConfig returns the Nomad client configuration: the -nomad-addr
// flag, else $NOMAD_ADDR, else Nomad's default address. http:// is added
// to a flag or environment value without a scheme.
func (c *clientFlags) nomadConfig() *nomadapi.Config {
	cfg := nomadapi.DefaultConfig()
	if c.nomadAddr != "" {
		cfg.Address = c.nomadAddr
	}
	cfg.Address = withScheme(cfg.Address)
	return cfg
}

// withScheme adds http:// to a Nomad address given as host:port, which the
// Nomad client would otherwise reject.
func withScheme(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}

// parseInterspersed parses flags that come before, between or after the
// positional arguments, and returns the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *clientFlags) catalog(consul *consulapi.Client) *service.ConsulCatalog {
	return &service.ConsulCatalog{Client: consul, Service: c.serviceName, KVPrefix: c.kvPrefix}
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
