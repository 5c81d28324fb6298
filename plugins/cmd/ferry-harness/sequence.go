package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// sequence is one conformance run. Steps after a failed step that they
// depend on are skipped, and the plugin is always closed.
type sequence struct {
	pluginPath string
	agentHCL   []byte
	configName string
	taskHCL    []byte
	taskName   string
	logger     hclog.Logger
	timeout    time.Duration

	failed bool
}

// step runs fn, prints its outcome and reports whether it passed.
func (s *sequence) step(name string, fn func() error) bool {
	if err := fn(); err != nil {
		fmt.Printf("FAIL %s: %v\n", name, err)
		s.failed = true
		return false
	}
	fmt.Printf("PASS %s\n", name)
	return true
}

func (s *sequence) run() bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()

	var p *harness.Plugin
	if !s.step("handshake", func() (err error) {
		p, err = harness.Launch(s.pluginPath, nil, s.logger)
		return err
	}) {
		return false
	}
	defer p.Close()

	s.step("PluginInfo", func() error { return checkInfo(ctx, p) })
	configured := s.step("SetConfig", func() error {
		agent := &plugins.AgentConfig{ClientMinPort: 14000, ClientMaxPort: 14512}
		return p.SetConfigHCL(ctx, s.agentHCL, s.configName, agent)
	})
	s.step("Init", func() error { return p.Driver.Init(ctx) })
	s.step("Capabilities", func() error {
		_, err := p.Driver.Capabilities(ctx)
		return err
	})
	s.step("Fingerprint first message", func() error { return checkFingerprint(ctx, p) })
	if configured {
		s.runTask(ctx, p)
	}
	return !s.failed
}

func checkInfo(ctx context.Context, p *harness.Plugin) error {
	info, versions, err := p.Base.PluginInfo(ctx)
	if err != nil {
		return err
	}
	if info.Type != plugins.PluginTypeDriver {
		return fmt.Errorf("plugin type is %d, want driver (2)", info.Type)
	}
	if info.Name == "" || info.Version == "" {
		return fmt.Errorf("plugin name %q and version %q must both be set", info.Name, info.Version)
	}
	for _, v := range versions {
		if v == plugins.APIVersion {
			return nil
		}
	}
	return fmt.Errorf("API versions %v do not include %s", versions, plugins.APIVersion)
}

func checkFingerprint(ctx context.Context, p *harness.Plugin) error {
	ctx, cancel := context.WithTimeout(ctx, 50*time.Second)
	defer cancel()
	stream, err := p.Driver.Fingerprint(ctx)
	if err != nil {
		return err
	}
	fp, err := stream.Recv()
	if err != nil {
		return fmt.Errorf("no first fingerprint: %w", err)
	}
	if fp.Health != plugins.HealthHealthy {
		return fmt.Errorf("health is %d (%q), want healthy", fp.Health, fp.Description)
	}
	return nil
}

// runTask starts one task, inspects it, stops it, waits for it and
// destroys it.
func (s *sequence) runTask(ctx context.Context, p *harness.Plugin) {
	dir, err := os.MkdirTemp("", "ferry-harness")
	if err != nil {
		s.step("alloc dir", func() error { return err })
		return
	}
	defer os.RemoveAll(dir)
	alloc, err := harness.NewAllocDir(dir, "task")
	if !s.step("alloc dir", func() error { return err }) {
		return
	}
	defer alloc.Close()

	var cfg *plugins.TaskConfig
	if !s.step("StartTask", func() error {
		data, err := p.EncodeTaskConfig(ctx, s.taskHCL, s.taskName)
		if err != nil {
			return err
		}
		cfg = alloc.TaskConfig(data)
		handle, _, err := p.Driver.StartTask(ctx, cfg)
		if err == nil && (handle == nil || handle.Config == nil || handle.Config.ID != cfg.ID) {
			return errors.New("returned handle does not carry the task config")
		}
		return err
	}) {
		return
	}

	s.step("InspectTask", func() error {
		_, err := p.Driver.InspectTask(ctx, cfg.ID)
		return err
	})
	s.step("StopTask", func() error { return p.Driver.StopTask(ctx, cfg.ID, 5*time.Second, "") })
	s.step("WaitTask", func() error {
		_, err := p.Driver.WaitTask(ctx, cfg.ID)
		return err
	})
	s.step("DestroyTask", func() error { return p.Driver.DestroyTask(ctx, cfg.ID, true) })
	s.step("DestroyTask again", func() error { return p.Driver.DestroyTask(ctx, cfg.ID, true) })
}
