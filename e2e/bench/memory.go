package main

import (
	"context"
	"fmt"
	"time"
)

// idleResult is the video plugin's memory under a client with no tasks,
// next to the Nomad client agent's own.
type idleResult struct {
	Samples     int     `json:"samples"`
	PluginRSSMB float64 `json:"plugin_rss_mb"`
	PluginPSSMB float64 `json:"plugin_pss_mb"`
	AgentRSSMB  float64 `json:"agent_rss_mb"`
	AgentPSSMB  float64 `json:"agent_pss_mb"`
}

// measureIdle waits for the plugin to settle, then takes the median of
// one sample a second.
func (b *bench) measureIdle(ctx context.Context) (*idleResult, error) {
	agent := b.cluster.Clients[0]
	if err := pause(ctx, b.opts.Settle); err != nil {
		return nil, err
	}
	pid, err := pluginPID(agent)
	if err != nil {
		return nil, err
	}

	var pluginRSS, pluginPSS, agentRSS, agentPSS []float64
	for i := 0; i < b.opts.Samples; i++ {
		if i > 0 {
			if err := pause(ctx, time.Second); err != nil {
				return nil, err
			}
		}
		plugin, err := readMemory(pid)
		if err != nil {
			return nil, fmt.Errorf("read video plugin memory: %w", err)
		}
		nomad, err := readMemory(agent.PID())
		if err != nil {
			return nil, fmt.Errorf("read nomad agent memory: %w", err)
		}
		pluginRSS = append(pluginRSS, float64(plugin.RSSKB))
		pluginPSS = append(pluginPSS, float64(plugin.PSSKB))
		agentRSS = append(agentRSS, float64(nomad.RSSKB))
		agentPSS = append(agentPSS, float64(nomad.PSSKB))
	}
	return &idleResult{
		Samples:     b.opts.Samples,
		PluginRSSMB: mb(median(pluginRSS)),
		PluginPSSMB: mb(median(pluginPSS)),
		AgentRSSMB:  mb(median(agentRSS)),
		AgentPSSMB:  mb(median(agentPSS)),
	}, nil
}

// pause waits for d or until ctx ends. The benchmark waits on purpose, so
// that the processes it measures reach a steady state.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
