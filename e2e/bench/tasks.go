package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// perTaskResult is what running a number of tasks on one driver added to
// the client, outside the containers. Helpers are every process below the
// Nomad client agent: the video plugin, logmon, docker_logger and any
// other. Container processes are children of containerd's shim, not of
// the agent, so they are never counted.
type perTaskResult struct {
	Driver string `json:"driver"`
	Tasks  int    `json:"tasks"`
	// HelpersBefore and HelpersAfter count helper processes by kind.
	HelpersBefore         map[string]int `json:"helpers_before"`
	HelpersAfter          map[string]int `json:"helpers_after"`
	ExtraProcessesPerTask float64        `json:"extra_processes_per_task"`
	HelpersPSSBeforeMB    float64        `json:"helpers_pss_before_mb"`
	HelpersPSSAfterMB     float64        `json:"helpers_pss_after_mb"`
	HelpersPSSPerTaskMB   float64        `json:"helpers_pss_per_task_mb"`
	AgentPSSPerTaskMB     float64        `json:"agent_pss_per_task_mb"`
}

// clientState is one sample of the client agent's helpers.
type clientState struct {
	helpers    map[string]int
	count      int
	helpersPSS float64 // kB
	agentPSS   float64 // kB
}

// measurePerTask runs each task count on each driver in turn and compares
// the client's helpers before the job and while its tasks run.
func (b *bench) measurePerTask(ctx context.Context) ([]perTaskResult, error) {
	var results []perTaskResult
	for _, count := range b.opts.Tasks {
		for _, driver := range []string{videoDriver, dockerDriver} {
			b.logger.Info("measuring per-task cost", "driver", driver, "tasks", count)
			result, err := b.measureTasks(ctx, driver, count)
			if err != nil {
				return nil, fmt.Errorf("%s driver, %d tasks: %w", driver, count, err)
			}
			results = append(results, result)
		}
	}
	return results, nil
}

func (b *bench) measureTasks(ctx context.Context, driver string, count int) (perTaskResult, error) {
	result := perTaskResult{Driver: driver, Tasks: count}
	if err := pause(ctx, b.opts.Settle); err != nil {
		return result, err
	}
	before, err := b.sampleClient(ctx)
	if err != nil {
		return result, err
	}

	jobID := fmt.Sprintf("bench-tasks-%s-%d", driver, count)
	job, err := b.sleepJob(ctx, driver, count, jobID)
	if err != nil {
		return result, err
	}
	if _, err := b.cluster.API.RegisterJob(ctx, job); err != nil {
		return result, err
	}
	_, err = b.waitRunning(ctx, jobID, count)
	if err == nil {
		err = pause(ctx, b.opts.Settle)
	}
	var after clientState
	if err == nil {
		after, err = b.sampleClient(ctx)
	}
	if stopErr := b.stopJob(ctx, jobID); err == nil {
		err = stopErr
	}
	if err != nil {
		return result, err
	}

	result.HelpersBefore = before.helpers
	result.HelpersAfter = after.helpers
	result.ExtraProcessesPerTask = float64(after.count-before.count) / float64(count)
	result.HelpersPSSBeforeMB = mb(before.helpersPSS)
	result.HelpersPSSAfterMB = mb(after.helpersPSS)
	result.HelpersPSSPerTaskMB = mb((after.helpersPSS - before.helpersPSS) / float64(count))
	result.AgentPSSPerTaskMB = mb((after.agentPSS - before.agentPSS) / float64(count))
	return result, nil
}

// sampleClient takes one sample a second and returns the median PSS
// figures with the helper counts of the last sample.
func (b *bench) sampleClient(ctx context.Context) (clientState, error) {
	agent := b.cluster.Clients[0]
	kindOf := processKind(filepath.Join(agent.PluginDir, pluginFileName))

	var state clientState
	var helpersPSS, agentPSS []float64
	for i := 0; i < b.opts.Samples; i++ {
		if i > 0 {
			if err := pause(ctx, time.Second); err != nil {
				return state, err
			}
		}
		procs, err := descendants(agent.PID(), kindOf)
		if err != nil {
			return state, err
		}
		state.helpers = make(map[string]int)
		total := 0.0
		for _, p := range procs {
			state.helpers[p.Kind]++
			m, err := readMemory(p.PID)
			if err != nil {
				continue // the helper exited after the list was read
			}
			total += float64(m.PSSKB)
		}
		state.count = len(procs)
		nomad, err := readMemory(agent.PID())
		if err != nil {
			return state, fmt.Errorf("read nomad agent memory: %w", err)
		}
		helpersPSS = append(helpersPSS, total)
		agentPSS = append(agentPSS, float64(nomad.PSSKB))
	}
	state.helpersPSS = median(helpersPSS)
	state.agentPSS = median(agentPSS)
	return state, nil
}
