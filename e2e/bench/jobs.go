package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// sleepJob builds the JSON of the sleep jobspec for a driver, a task count
// and a job id.
func (b *bench) sleepJob(ctx context.Context, driver string, count int, id string) (map[string]any, error) {
	vars := fmt.Sprintf("driver = %q\ncount = %d\nimage = %q\n", driver, count, benchImage)
	job, err := b.cluster.API.ParseJob(ctx, b.jobspec, vars)
	if err != nil {
		return nil, fmt.Errorf("parse jobspec %s: %w", sleepJobspec, err)
	}
	job["ID"] = id
	job["Name"] = id
	return job, nil
}

// waitRunning waits until the job has count allocations whose client
// status is running, and fails as soon as one ends.
func (b *bench) waitRunning(ctx context.Context, jobID string, count int) ([]cluster.Allocation, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	var allocs []cluster.Allocation
	var ended error
	err := cluster.Poll(ctx, fmt.Sprintf("%d allocations of job %q to run", count, jobID), func(ctx context.Context) (bool, error) {
		var err error
		allocs, err = b.cluster.API.JobAllocations(ctx, jobID)
		if err != nil {
			return false, err
		}
		running := 0
		for _, a := range allocs {
			if a.Terminal() {
				// Poll retries on errors, so an ended allocation stops the
				// wait through ended instead.
				ended = fmt.Errorf("allocation %q ended with status %q: %s", a.ID, a.ClientStatus, a.EventSummary())
				return true, nil
			}
			if a.ClientStatus == "running" {
				running++
			}
		}
		return running >= count, nil
	})
	if err == nil {
		err = ended
	}
	return allocs, err
}

// stopJob stops the job, waits until every one of its allocations has
// finished, then purges it. Purging first would hide allocations whose
// tasks still run.
func (b *bench) stopJob(ctx context.Context, jobID string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	allocs, err := b.cluster.API.JobAllocations(ctx, jobID)
	if err != nil {
		return err
	}
	if err := b.cluster.API.StopJob(ctx, jobID, false); err != nil {
		return err
	}
	err = cluster.Poll(ctx, fmt.Sprintf("allocations of job %q to stop", jobID), func(ctx context.Context) (bool, error) {
		for _, a := range allocs {
			current, err := b.cluster.API.Allocation(ctx, a.ID)
			if err != nil {
				return false, err
			}
			if !current.Terminal() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return b.cluster.API.StopJob(ctx, jobID, true)
}
