// Command ferry-registrar publishes the camera storage of the node it runs
// on to the local Consul agent.
//
//	ferry-registrar [run] [flags]     publish now and every period until stopped
//	ferry-registrar once -o json      print what it would publish, write nothing
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ferry-registrar:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	mode := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if mode != "run" && mode != "once" {
		return fmt.Errorf("unknown command %q: use run or once", mode)
	}

	cfg, recordings, output, err := parseFlags(mode, args)
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "ferry-registrar", Level: hclog.Info})
	reg, err := registrar.New(cfg, logger)
	if err != nil {
		return err
	}

	if mode == "once" {
		return printPublication(stdout, reg.Scan(), output)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	serverDone, err := startRecordings(ctx, cfg, recordings, logger)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(time.Duration(cfg.Period))
	defer ticker.Stop()
	reg.Run(ctx, ticker.C, realClock{}, true)
	return <-serverDone
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// parseFlags reads the config file, if any, then applies the flags over it
// and validates the result.
func parseFlags(mode string, args []string) (*registrar.Config, *registrar.RecordingsConfig, string, error) {
	fs := flag.NewFlagSet("ferry-registrar "+mode, flag.ContinueOnError)
	configPath := fs.String("config", "", "path of a JSON config file; flags override its values")
	consulAddr := fs.String("consul-addr", "", "local Consul agent HTTP address, host:port (default 127.0.0.1:8500)")
	service := fs.String("service-name", "", "Consul service name (default camera-storage)")
	site := fs.String("site", "", "site this node belongs to")
	node := fs.String("node", "", "this node's name in Nomad (default the host name)")
	period := fs.Duration("period", 0, "time between scans (default 30s)")
	output := fs.String("o", "json", "once: output format, json or text")
	recordingsListen := fs.String("recordings-listen", "", "HTTPS address of the recordings server, host:port (default off)")
	recordingsCert := fs.String("recordings-cert", "", "PEM certificate file of the recordings server")
	recordingsKey := fs.String("recordings-key", "", "PEM private key file of the recordings server")
	recordingsToken := fs.String("recordings-token-file", "", "file containing the bearer token that recordings clients must send")
	var roots, replicaRoots stringList
	fs.Var(&roots, "root", "camera storage root; repeat for several")
	fs.Var(&replicaRoots, "replica-root", "storage root holding replicas of other nodes' recordings; repeat for several")
	if err := fs.Parse(args); err != nil {
		return nil, nil, "", err
	}
	if fs.NArg() > 0 {
		return nil, nil, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	file := &configFile{}
	if *configPath != "" {
		if err := readConfig(*configPath, file); err != nil {
			return nil, nil, "", err
		}
	}
	cfg, recordings := &file.Config, &file.Recordings
	setIf(&recordings.Listen, *recordingsListen)
	setIf(&recordings.CertFile, *recordingsCert)
	setIf(&recordings.KeyFile, *recordingsKey)
	setIf(&recordings.TokenFile, *recordingsToken)
	setIf(&cfg.ConsulAddr, *consulAddr)
	setIf(&cfg.ServiceName, *service)
	setIf(&cfg.Site, *site)
	setIf(&cfg.Node, *node)
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if *period != 0 {
		cfg.Period = registrar.Duration(*period)
	}
	if len(roots) > 0 {
		cfg.Roots = roots
	}
	if len(replicaRoots) > 0 {
		cfg.ReplicaRoots = replicaRoots
	}
	if *output != "json" && *output != "text" {
		return nil, nil, "", fmt.Errorf("-o %q: unknown output format; use json or text", *output)
	}
	if err := errors.Join(cfg.Validate(), recordings.Validate()); err != nil {
		return nil, nil, "", fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, recordings, *output, nil
}

// configFile is the JSON config file: the registrar's fields at the top
// level and the recordings server under "recordings".
type configFile struct {
	registrar.Config
	Recordings registrar.RecordingsConfig `json:"recordings"`
}

func readConfig(path string, cfg *configFile) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config %q: %w", path, err)
	}
	return nil
}

func setIf(dst *string, value string) {
	if value != "" {
		*dst = value
	}
}

func printPublication(w io.Writer, pub registrar.Publication, output string) error {
	if output == "text" {
		fmt.Fprintf(w, "service %s (%s) healthy=%t\n", pub.ServiceID, pub.ServiceName, pub.Healthy)
		if !pub.Healthy {
			fmt.Fprintf(w, "  %s\n", pub.HealthOutput)
		}
		for _, id := range pub.Cameras() {
			fmt.Fprintf(w, "  camera %s\n", id)
		}
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pub); err != nil {
		return errors.Join(errors.New("write publication"), err)
	}
	return nil
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
