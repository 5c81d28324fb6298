package main

import (
	"context"
	"fmt"
	"time"
)

// latencyResult is the time from the job register request to the task's
// Started event, per driver, with the image already present.
type latencyResult struct {
	Runs          int       `json:"runs"`
	VideoSeconds  []float64 `json:"video_s"`
	DockerSeconds []float64 `json:"docker_s"`
	VideoMedian   float64   `json:"video_median_s"`
	DockerMedian  float64   `json:"docker_median_s"`
	// Ratio is the video median over the docker median.
	Ratio float64 `json:"ratio_video_to_docker"`
}

// measureLatency submits the one-task sleep job on each driver in turn,
// swapping which goes first on every round, after one uncounted warm-up
// round.
func (b *bench) measureLatency(ctx context.Context) (*latencyResult, error) {
	result := &latencyResult{Runs: b.opts.Runs}
	for round := -1; round < b.opts.Runs; round++ {
		drivers := []string{videoDriver, dockerDriver}
		if round%2 != 0 {
			drivers = []string{dockerDriver, videoDriver}
		}
		for _, driver := range drivers {
			seconds, err := b.submitToStarted(ctx, driver, round)
			if err != nil {
				return nil, fmt.Errorf("%s driver, round %d: %w", driver, round, err)
			}
			b.logger.Info("submit to started", "driver", driver, "round", round, "seconds", seconds)
			if round < 0 {
				continue
			}
			if driver == videoDriver {
				result.VideoSeconds = append(result.VideoSeconds, seconds)
			} else {
				result.DockerSeconds = append(result.DockerSeconds, seconds)
			}
		}
	}
	result.VideoMedian = median(result.VideoSeconds)
	result.DockerMedian = median(result.DockerSeconds)
	if result.DockerMedian > 0 {
		result.Ratio = round3(result.VideoMedian / result.DockerMedian)
	}
	return result, nil
}

// submitToStarted registers a one-task job and returns the seconds from
// just before the register request to the Started event's timestamp. Both
// clocks are this machine's, because the client runs here.
func (b *bench) submitToStarted(ctx context.Context, driver string, round int) (float64, error) {
	jobID := fmt.Sprintf("bench-latency-%s-%d", driver, round+1)
	job, err := b.sleepJob(ctx, driver, 1, jobID)
	if err != nil {
		return 0, err
	}

	submitted := time.Now()
	if _, err := b.cluster.API.RegisterJob(ctx, job); err != nil {
		return 0, err
	}
	allocs, err := b.waitRunning(ctx, jobID, 1)
	if err == nil && len(allocs) != 1 {
		err = fmt.Errorf("job %q has %d allocations, expected 1", jobID, len(allocs))
	}
	var started int64
	if err == nil {
		started, err = b.startedAt(ctx, allocs[0].ID)
	}
	if stopErr := b.stopJob(ctx, jobID); err == nil {
		err = stopErr
	}
	if err != nil {
		return 0, err
	}
	return round3(float64(started-submitted.UnixNano()) / 1e9), nil
}

// startedAt returns the Unix nanosecond time of the sleep task's Started
// event.
func (b *bench) startedAt(ctx context.Context, allocID string) (int64, error) {
	alloc, err := b.cluster.API.Allocation(ctx, allocID)
	if err != nil {
		return 0, err
	}
	for _, event := range alloc.TaskStates["sleep"].Events {
		if event.Type == "Started" {
			return event.Time, nil
		}
	}
	return 0, fmt.Errorf("allocation %q runs but its task has no Started event: %s", allocID, alloc.EventSummary())
}

func round3(x float64) float64 {
	return float64(int64(x*1000+0.5)) / 1000
}
