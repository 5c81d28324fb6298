// Command ferry-vcsim serves govmomi's vCenter simulator on loopback with
// the inventory of package vcsim: a template VM and, with -guest-image,
// clones backed by Docker containers.
//
// It prints "url <SDK URL>" once it serves. SIGUSR1 closes the listener and
// every connection, as when vCenter goes down. SIGUSR2 serves again on the
// same port with the same inventory. Each prints "stopped" or "restarted"
// when done. SIGTERM or SIGINT removes the inventory and the
// VMs' containers, then exits.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ferry-video/ferry/e2e/vcsim"
)

func main() {
	cfg := vcsim.Config{}
	flag.StringVar(&cfg.Listen, "listen", "127.0.0.1:0", "loopback host:port to serve on")
	flag.StringVar(&cfg.Username, "username", "ferry", "the accepted vCenter user")
	passwordFile := flag.String("password-file", "", "file whose content is the accepted password (required)")
	flag.StringVar(&cfg.Template, "template", "ferry-template", "name of the template VM")
	flag.StringVar(&cfg.GuestImage, "guest-image", "", "local Docker image that backs every new VM; empty for VMs without a guest")
	command := flag.String("guest-command", "sleep 86400", "command of the guest image's containers, split at spaces")
	flag.StringVar(&cfg.Owner, "owner", "ferry-vcsim", "value of the "+vcsim.ContainerLabel+" label of the containers")
	flag.Parse()

	if *passwordFile == "" {
		fatal(fmt.Errorf("missing -password-file: give a file that contains the password"))
	}
	password, err := os.ReadFile(*passwordFile)
	if err != nil {
		fatal(fmt.Errorf("invalid -password-file: %w", err))
	}
	cfg.Password = strings.TrimRight(string(password), "\r\n")
	cfg.GuestCommand = strings.Fields(*command)

	sim, err := vcsim.NewSimulator(cfg)
	if err != nil {
		fatal(err)
	}
	fmt.Println("url", sim.URL())
	serve(sim)
}

// serve handles the outage signals until SIGTERM or SIGINT.
func serve(sim *vcsim.Simulator) {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM, syscall.SIGINT)
	for sig := range signals {
		switch sig {
		case syscall.SIGUSR1:
			sim.Stop()
			fmt.Println("stopped")
		case syscall.SIGUSR2:
			if err := sim.Restart(); err != nil {
				fmt.Fprintln(os.Stderr, "ferry-vcsim: restart:", err)
				continue
			}
			fmt.Println("restarted")
		default:
			sim.Close()
			return
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "ferry-vcsim:", err)
	os.Exit(1)
}
