package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/scheduler/service"
	"github.com/hashicorp/go-hclog"
)

func runService(args []string) error {
	fs := flag.NewFlagSet("ferry-scheduler run", flag.ContinueOnError)
	var c clientFlags
	c.register(fs, false)
	resync := fs.Duration("resync", time.Minute, "time between passes when nothing changes")
	emptyGrace := fs.Duration("empty-grace", 2*time.Minute, "time after a failed catalog read or a Consul restart during which an empty catalog is ignored and a node missing from the catalog keeps its last holdings; set above the registrars' period")
	vanishGrace := fs.Duration("vanish-grace", 10*time.Minute, "time that successful catalog reads must miss a camera before its groups are removed")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", "address of the /metrics and /v1/status HTTP server; empty disables it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.validate(); err != nil {
		return err
	}
	if *resync <= 0 {
		return fmt.Errorf("-resync %s must be positive, such as 1m", *resync)
	}
	if *vanishGrace <= 0 {
		return fmt.Errorf("-vanish-grace %s must be positive, such as 10m", *vanishGrace)
	}
	consul, nomad, err := c.clients()
	if err != nil {
		return err
	}

	logger := hclog.New(&hclog.LoggerOptions{Name: "ferry-scheduler", Level: hclog.Info})
	svc := service.New(service.Config{Resync: *resync, EmptyGrace: *emptyGrace, VanishGrace: *vanishGrace}, c.catalog(consul), &service.NomadCluster{Client: nomad}, realClock{}, logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *metricsAddr != "" {
		ln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on -metrics-addr %q: %w", *metricsAddr, err)
		}
		srv := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server stopped", "error", err)
			}
		}()
		defer srv.Close()
		logger.Info("serving metrics", "address", ln.Addr().String())
	}

	logger.Info("starting", "consul_addr", c.consulAddr, "nomad_addr", nomad.Address(), "service_name", c.serviceName, "resync", resync.String())
	svc.Run(ctx)
	logger.Info("stopped")
	return nil
}
