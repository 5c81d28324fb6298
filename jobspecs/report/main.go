// Command report writes the city report of the motion-detect service: it
// finds the instances of the service in Consul's catalog, reads each
// healthy instance's GET /events and writes one JSON document
//
//	{"cameras": [{"camera", "node", "done", "events"}], "missing": [{"camera", "reason"}]}
//
// A camera named in -expect, or seen in the catalog, that has no healthy
// instance returning its events is listed in missing with the reason, such
// as the output of its failing health check.
//
// Usage:
//
//	report [-consul-addr 127.0.0.1:8500] [-service motion-detect] [-tag site:downtown] [-expect north-gate,south-gate] [-o report.json]
//
// Exit codes: 0 every camera reported, 1 invalid usage or Consul failed,
// 2 the report was written but a camera is missing or the catalog has no
// instance of the service at all.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitMissing = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// options are the command's parsed flags.
type options struct {
	consulAddr string
	service    string
	tags       []string
	expected   []string
	output     string
	timeout    time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseOptions(args, stderr)
	if err != nil {
		if !errors.Is(err, errFlagsPrinted) {
			fmt.Fprintf(stderr, "report: %v\n", err)
		}
		return exitFailure
	}

	config := api.DefaultConfig()
	if opts.consulAddr != "" {
		config.Address = opts.consulAddr
	}
	client, err := api.NewClient(config)
	if err != nil {
		fmt.Fprintf(stderr, "report: invalid -consul-addr %q: %v\n", config.Address, err)
		return exitFailure
	}
	collector := &Collector{Health: client.Health(), Agent: client.Agent(), HTTP: &http.Client{Timeout: opts.timeout}, Service: opts.service, Tags: opts.tags}
	queryCtx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	report, err := collector.Collect(queryCtx, opts.expected)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v: check that a Consul agent is reachable at %s\n", err, config.Address)
		return exitFailure
	}

	if err := writeReport(opts.output, stdout, report); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return exitFailure
	}
	if report.instances == 0 {
		filter := ""
		if len(opts.tags) > 0 {
			filter = fmt.Sprintf(" with tags %q", opts.tags)
		}
		fmt.Fprintf(stderr, "report: no instance of service %q%s is registered in Consul at %s: check the -service name, the -tag filters and -consul-addr\n",
			opts.service, filter, config.Address)
	}
	for _, m := range report.Missing {
		fmt.Fprintf(stderr, "report: camera %q missing: %s\n", m.Camera, m.Reason)
	}
	if len(report.Missing) > 0 || report.instances == 0 {
		return exitMissing
	}
	return exitOK
}

// errFlagsPrinted is returned for errors that the flag package has already
// printed with the usage.
var errFlagsPrinted = errors.New("invalid flags")

// parseOptions parses and checks the flags.
func parseOptions(args []string, stderr io.Writer) (*options, error) {
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(stderr)
	opts := &options{}
	flags.StringVar(&opts.consulAddr, "consul-addr", "", "Consul HTTP API address, host:port (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500)")
	flags.StringVar(&opts.service, "service", "motion-detect", "Consul service name of the motion instances")
	expect := flags.String("expect", "", "comma-separated camera ids that must appear in the report")
	flags.StringVar(&opts.output, "o", "-", "file to write the report to; - writes to standard output")
	flags.DurationVar(&opts.timeout, "timeout", 30*time.Second, "time limit for the Consul query and each /events request")
	var tags stringList
	flags.Var(&tags, "tag", "Consul tag every instance must have, such as site:downtown; repeat for several")
	if err := flags.Parse(args); err != nil {
		return nil, errFlagsPrinted
	}
	opts.tags = tags

	if flags.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", flags.Arg(0))
	}
	if opts.timeout <= 0 {
		return nil, fmt.Errorf("invalid -timeout %s: must be more than 0", opts.timeout)
	}
	expected, err := parseExpected(*expect)
	if err != nil {
		return nil, err
	}
	opts.expected = expected
	return opts, nil
}

func parseExpected(list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	var cameras []string
	for _, camera := range strings.Split(list, ",") {
		camera = strings.TrimSpace(camera)
		if camera == "" {
			return nil, fmt.Errorf("invalid -expect %q: empty camera id; separate ids with single commas", list)
		}
		cameras = append(cameras, camera)
	}
	return cameras, nil
}

func writeReport(path string, stdout io.Writer, report *Report) error {
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	// Write to a temporary file first, so a reader never sees half a report.
	temporary := path + ".tmp"
	if err := os.WriteFile(temporary, data, 0o644); err != nil {
		return fmt.Errorf("write report %q: %w", path, err)
	}
	if err := os.Rename(temporary, path); err != nil {
		os.Remove(temporary)
		return fmt.Errorf("write report %q: %w", path, err)
	}
	return nil
}
