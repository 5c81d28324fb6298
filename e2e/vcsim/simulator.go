// Package vcsim runs govmomi's vCenter simulator for ferry's end-to-end
// tests and demo: in-process as a Simulator, or as its own process on
// loopback, built from the Go module by Build and started by Start.
//
// The simulated inventory is govmomi's VPX model (datacenter DC0, cluster
// DC0_C0) with its VM DC0_H0_VM0 powered off, renamed to the template
// name and marked as a template. When a guest image is given, every VM
// created later, such as a clone, is backed by a Docker container of that
// image, so guest operations run real programs.
package vcsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
)

// ContainerLabel marks the Docker containers of container-backed VMs, with
// the simulator's owner id as value, so that cleanup removes only those.
const ContainerLabel = "ferry.vcsim.owner"

// Config describes a simulated vCenter.
type Config struct {
	// Listen is the host:port to serve on. Default "127.0.0.1:0".
	Listen string
	// Username and Password are the only accepted login.
	Username, Password string
	// Template is the name given to the template VM. Default
	// "ferry-template".
	Template string
	// GuestImage, when set, backs every new VM with a container of this
	// local image running GuestCommand.
	GuestImage   string
	GuestCommand []string
	// Owner is the value of ContainerLabel on the containers.
	Owner string
}

// Simulator is a running in-process vCenter simulator. Stop and Restart
// close and reopen its listener on the same port while the inventory,
// VMs and sessions stay.
type Simulator struct {
	model *simulator.Model
	cfg   Config

	mu     sync.Mutex
	server *simulator.Server
	// host is the host:port of the first listener, reused by Restart.
	host string
}

// NewSimulator builds the inventory and starts serving.
func NewSimulator(cfg Config) (*Simulator, error) {
	if cfg.Username == "" || cfg.Password == "" {
		return nil, errors.New("vcsim: missing username or password")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Template == "" {
		cfg.Template = "ferry-template"
	}
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		return nil, fmt.Errorf("vcsim: create inventory: %w", err)
	}
	s := &Simulator{model: m, cfg: cfg}
	if err := s.start(cfg.Listen); err != nil {
		m.Remove()
		return nil, err
	}
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Simulator) start(host string) error {
	svc := s.model.Service
	if s.server != nil {
		// NewServer registers its handlers on Service.ServeMux, so a
		// second start needs a fresh mux with the SDK endpoint on it.
		svc.ServeMux = http.NewServeMux()
		svc.ServeMux.HandleFunc(s.model.Map().Path, svc.ServeSDK)
	}
	svc.Listen = &url.URL{Host: host, User: url.UserPassword(s.cfg.Username, s.cfg.Password)}
	server := svc.NewServer()
	s.server = server
	s.host = server.URL.Host
	return nil
}

// prepare turns DC0_H0_VM0 into the template and registers the guest image.
func (s *Simulator) prepare() error {
	if err := s.makeTemplate(); err != nil {
		return fmt.Errorf("vcsim: prepare template %q: %w", s.cfg.Template, err)
	}
	if s.cfg.GuestImage == "" {
		return nil
	}
	// --init runs docker-init as the container's process 1, so that a
	// guest command such as sleep ends on the SIGTERM of docker stop
	// instead of after docker's 10s grace.
	options := "--init --label " + ContainerLabel + "=" + s.cfg.Owner + " " + s.cfg.GuestImage
	run, err := json.Marshal(append([]string{options}, s.cfg.GuestCommand...))
	if err != nil {
		return err
	}
	// NOTE: vcsim v0.56.0 joins the container options and arguments into
	// one bash command line, which is how the options ride in front of the
	// image. Guest commands must not need shell quoting.
	s.model.Map().ContainerImages.Register(simulator.ContainerImageEntry{
		VMNameGlob:  "*",
		OCIImage:    string(run),
		ExtraConfig: map[string]string{"RUN.mountdmi": "false"},
	})
	return nil
}

func (s *Simulator) makeTemplate() error {
	ctx := context.Background()
	c, err := govmomi.NewClient(ctx, s.server.URL, true)
	if err != nil {
		return err
	}
	defer func() { _ = c.Logout(ctx) }()
	vm, err := find.NewFinder(c.Client, true).VirtualMachine(ctx, "/DC0/vm/DC0_H0_VM0")
	if err != nil {
		return err
	}
	if err := wait(vm.PowerOff(ctx)); err != nil {
		return err
	}
	if err := wait(vm.Rename(ctx, s.cfg.Template)); err != nil {
		return err
	}
	return vm.MarkAsTemplate(ctx)
}

func wait(task *object.Task, err error) error {
	if err != nil {
		return err
	}
	return task.Wait(context.Background())
}

// URL returns the SDK address without credentials, such as
// http://127.0.0.1:40123/sdk.
func (s *Simulator) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.host + s.model.Map().Path
}

// Stop closes the listener and every connection, as when vCenter goes
// down. The inventory stays.
func (s *Simulator) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.server != nil {
		// The server's Close would wait for requests in progress, and
		// vcsim's WaitForUpdatesEx handler does not return when its
		// client goes away, so the listener and connections are closed
		// directly.
		s.server.Listener.Close()
		s.server.CloseClientConnections()
	}
}

// Restart serves again on the port of the first start.
func (s *Simulator) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start(s.host)
}

// Close stops serving and removes the inventory, which also removes the
// containers of the VMs that vcsim still tracks.
func (s *Simulator) Close() {
	s.Stop()
	s.model.Remove()
}

// Model returns the simulator's model, for tests that inspect inventory.
func (s *Simulator) Model() *simulator.Model { return s.model }
