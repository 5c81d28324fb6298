package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/harness"
)

// rpcTimeout bounds each call to the plugin that should return at once.
const rpcTimeout = 30 * time.Second

// Plugin config of the orphan sweep: how often it runs and how long an
// untracked container is kept.
const (
	sweepPeriod = "1s"
	orphanGrace = "3s"
)

// plugin is a video plugin process launched through the conformance harness
// with the agent config it gets after every launch.
type plugin struct {
	*harness.Plugin
	caps      plugins.Capabilities
	agentHCL  []byte
	taskExtra string
	// image and script replace testImage and counterScript in new tasks
	// when set.
	image  string
	script string
	// stopFingerprint ends the fingerprint stream of the current launch.
	stopFingerprint context.CancelFunc
}

// pluginOptions are the parts of the agent and task config that differ
// between scenarios.
type pluginOptions struct {
	// endpoint is the Docker daemon address; empty means the driver default.
	endpoint string
	// taskExtra is appended to every task's config block.
	taskExtra string
}

// launchPlugin starts the plugin binary as Nomad does and configures it.
func (s *suite) launchPlugin(ctx context.Context, opts pluginOptions) (*plugin, error) {
	storage := filepath.Join(s.tempDir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, err
	}
	agent := fmt.Sprintf("camera_storage = [%q]\n", storage)
	// A StartTask cut off by a kill leaves a container that this suite,
	// unlike Nomad, never starts again under the same alloc and task name,
	// so only the driver's orphan sweep removes it. The short period and
	// grace let the sweep finish within strayGrace.
	agent += fmt.Sprintf("fingerprint_period = %q\norphan_grace = %q\n", sweepPeriod, orphanGrace)
	if opts.endpoint != "" {
		agent += fmt.Sprintf("endpoint = %q\n", opts.endpoint)
	}
	// The plugin's own log is quiet: the kills make go-plugin log an error
	// each round.
	logger := hclog.New(&hclog.LoggerOptions{Name: "faults.plugin", Level: hclog.Off, Output: os.Stderr})
	hp, err := harness.Launch(s.binary, nil, logger)
	if err != nil {
		return nil, err
	}
	p := &plugin{Plugin: hp, agentHCL: []byte(agent), taskExtra: opts.taskExtra}
	if err := p.configure(ctx); err != nil {
		hp.Close()
		return nil, err
	}
	return p, nil
}

// configure sends SetConfig and reads the capabilities, as Nomad does after
// every launch.
func (p *plugin) configure(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	agent := &plugins.AgentConfig{ClientMinPort: 14000, ClientMaxPort: 14512}
	if err := p.SetConfigHCL(ctx, p.agentHCL, "agent.hcl", agent); err != nil {
		return fmt.Errorf("SetConfig: %w", err)
	}
	caps, err := p.Driver.Capabilities(ctx)
	if err != nil {
		return fmt.Errorf("Capabilities: %w", err)
	}
	p.caps = caps
	return p.streamFingerprints()
}

// streamFingerprints opens the fingerprint stream and reads it until the
// plugin exits, as a Nomad client does for its whole life. The driver runs
// its orphan sweep on this stream's period.
func (p *plugin) streamFingerprints() error {
	if p.stopFingerprint != nil {
		p.stopFingerprint()
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stopFingerprint = cancel
	stream, err := p.Driver.Fingerprint(ctx)
	if err != nil {
		cancel()
		return fmt.Errorf("Fingerprint: %w", err)
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

// crash kills the plugin process with SIGKILL, relaunches it and configures
// it, as Nomad does after a plugin crash.
func (p *plugin) crash(ctx context.Context) error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.relaunch(ctx)
}

func (p *plugin) relaunch(ctx context.Context) error {
	if err := p.Relaunch(); err != nil {
		return err
	}
	return p.configure(ctx)
}

// counterScript prints "line N" for N = 1, 2, ... twenty times a second
// and exits 0 on SIGTERM.
const counterScript = "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo line $i; sleep 0.05; done"

// task is a task the suite started and whose handle it stores, as Nomad's
// client state does.
type task struct {
	alloc  *harness.AllocDir
	cfg    *plugins.TaskConfig
	handle *plugins.TaskHandle
	// startedAt is the container's start time when the task started, to
	// detect restarts.
	startedAt string
	// logsBefore is what the log files held before this task started, from
	// an earlier attempt under the same alloc and task name.
	logsBefore []byte
	// dropFrom and dropTo are the numbers of the first and last line that
	// the task printed while its log folder was full. The log check counts
	// these lines as dropped, not lost, when they are missing.
	dropFrom, dropTo int
}

// newTaskConfig encodes the counter task's config and returns it with a
// fresh alloc dir.
func (s *suite) newTaskConfig(ctx context.Context, p *plugin, name string) (*harness.AllocDir, *plugins.TaskConfig, error) {
	alloc, err := harness.NewAllocDirFor(filepath.Join(s.tempDir, "allocs"), name, p.caps)
	if err != nil {
		return nil, nil, err
	}
	image, script := testImage, counterScript
	if p.image != "" {
		image = p.image
	}
	if p.script != "" {
		script = p.script
	}
	src := fmt.Sprintf("image = %q\ncommand = \"/bin/sh\"\nargs = [\"-c\", %q]\n%s", image, script, p.taskExtra)
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	data, err := p.EncodeTaskConfig(ctx, []byte(src), "task.hcl")
	if err != nil {
		alloc.Close()
		return nil, nil, err
	}
	cfg := alloc.TaskConfig(data)
	cfg.NodeID = s.nodeID
	return alloc, cfg, nil
}
