// Command ferry-registrar publishes the camera storage of the node it runs
// on to the local Consul agent.
//
//	ferry-registrar [run] [flags]     publish now and every period until stopped
//	ferry-registrar once -o json      print what it would publish, write nothing
//	ferry-registrar -h                print the commands and flags
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
)

func main() {
	err := run(os.Args[1:], os.Stdout)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferry-registrar:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	mode := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	if mode == "help" {
		mode, args = "run", []string{"-h"}
	}
	if mode != "run" && mode != "once" {
		return fmt.Errorf("unknown command %q: use run or once, or -h for help", mode)
	}

	cfg, recordings, opts, err := parseFlags(mode, args)
	var help *helpError
	if errors.As(err, &help) {
		fmt.Fprint(stdout, usage, help.flags)
		return err
	}
	if err != nil {
		return err
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "ferry-registrar", Level: hclog.Info})
	reg, err := registrar.New(cfg, logger)
	if err != nil {
		return err
	}

	if mode == "once" {
		return printPublication(stdout, reg.Scan(), opts.output)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := reg.Claim(ctx); errors.Is(err, registrar.ErrNodeTaken) {
		return err
	} else if err != nil {
		// Run retries until Consul responds, and then checks the owner again.
		logger.Warn("cannot check whether another registrar publishes this node", "node", cfg.Node, "error", err)
	}
	serverDone, err := startRecordings(ctx, cfg, recordings, logger)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(time.Duration(cfg.Period))
	defer ticker.Stop()
	reg.Run(ctx, scanTriggers(ctx, cfg, ticker.C, opts.watch, logger), realClock{}, true)
	return <-serverDone
}

// watchDebounce is how long the registrar waits after a change under the
// roots before it scans, so that a burst of changes causes one scan.
const watchDebounce = 200 * time.Millisecond

// scanTriggers returns the ticks, merged with the changes that inotify
// reports under the roots when watch is true and inotify works.
func scanTriggers(ctx context.Context, cfg *registrar.Config, ticks <-chan time.Time, watch bool, logger hclog.Logger) <-chan time.Time {
	if !watch {
		return ticks
	}
	roots := append(append([]string{}, cfg.Roots...), cfg.ReplicaRoots...)
	watcher, err := registrar.NewWatcher(roots, logger.Named("watch"))
	if err != nil {
		logger.Warn("cannot watch camera storage; scanning every period only", "period", time.Duration(cfg.Period), "error", err)
		return ticks
	}
	changes := make(chan struct{}, 1)
	go watcher.Run(ctx, changes)
	return registrar.Triggers(ctx, ticks, changes, watchDebounce, realClock{})
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// options are the flags that are not part of the config file.
type options struct {
	// output is the format of once: json or text.
	output string
	// watch turns on scanning as soon as inotify reports a change.
	watch bool
}

// usage is the help text before the flags.
const usage = `Usage:
  ferry-registrar [run] [flags]      publish this node's camera storage to the
                                     local Consul agent now and every -period
  ferry-registrar once [flags]       print what run would publish, and write
                                     nothing; -o json (default) or text

Flags:
`

// helpError is returned for -h and -help, with the flags and their
// defaults. It wraps flag.ErrHelp.
type helpError struct {
	flags string
}

func (e *helpError) Error() string { return flag.ErrHelp.Error() }
func (e *helpError) Unwrap() error { return flag.ErrHelp }

// parseFlags reads the config file, if any, then applies the flags over it
// and validates the result.
func parseFlags(mode string, args []string) (*registrar.Config, *registrar.RecordingsConfig, options, error) {
	fs := flag.NewFlagSet("ferry-registrar "+mode, flag.ContinueOnError)
	configPath := fs.String("config", "", "path of a JSON config file; flags override its values")
	consulAddr := fs.String("consul-addr", "", "local Consul agent HTTP address, host:port (default 127.0.0.1:8500)")
	service := fs.String("service-name", "", "Consul service name (default camera-storage)")
	site := fs.String("site", "", "site this node belongs to")
	node := fs.String("node", "", "this node's name in Nomad (default the host name)")
	period := fs.Duration("period", 0, "time between scans (default 30s)")
	output := fs.String("o", "json", "once: output format, json or text")
	watch := fs.Bool("watch", true, "run: also scan 200ms after inotify reports a change under the roots, not only every period")
	recordingsListen := fs.String("recordings-listen", "", "HTTPS address of the recordings server, host:port (default off)")
	recordingsCert := fs.String("recordings-cert", "", "PEM certificate file of the recordings server")
	recordingsKey := fs.String("recordings-key", "", "PEM private key file of the recordings server")
	recordingsToken := fs.String("recordings-token-file", "", "file containing the bearer token that recordings clients must send")
	var roots, replicaRoots stringList
	fs.Var(&roots, "root", "camera storage root; repeat for several")
	fs.Var(&replicaRoots, "replica-root", "storage root holding replicas of other nodes' recordings; repeat for several")
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		var defaults strings.Builder
		fs.SetOutput(&defaults)
		fs.PrintDefaults()
		return nil, nil, options{}, &helpError{flags: defaults.String()}
	} else if err != nil {
		return nil, nil, options{}, fmt.Errorf("%w; run ferry-registrar -h for the commands and flags", err)
	}
	if fs.NArg() > 0 {
		return nil, nil, options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	file := &configFile{}
	if *configPath != "" {
		if err := readConfig(*configPath, file); err != nil {
			return nil, nil, options{}, err
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
		return nil, nil, options{}, fmt.Errorf("-o %q: unknown output format; use json or text", *output)
	}
	if err := errors.Join(cfg.Validate(), recordings.Validate()); err != nil {
		return nil, nil, options{}, fmt.Errorf("invalid configuration:\n%w", err)
	}
	return cfg, recordings, options{output: *output, watch: *watch}, nil
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
		for _, camera := range slices.Sorted(maps.Keys(pub.Unreadable)) {
			fmt.Fprintf(w, "  unreadable camera %s: %s\n", camera, pub.Unreadable[camera])
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
