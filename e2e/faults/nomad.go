package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// nomadJobID names the job the Nomad scenario runs.
const nomadJobID = "ferry-faults"

// nomadJob is a service of two counter tasks that Nomad must never restart:
// a restart fails the allocation, so the checks see it.
var nomadJob = fmt.Sprintf(`
job %q {
  type = "service"
  group "counter" {
    count = 2
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "counter" {
      driver = "video"
      config {
        image   = %q
        command = "/bin/sh"
        args    = ["-c", %q]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`, nomadJobID, testImage, counterScript)

// nomadTask is a running allocation of the job and its container.
type nomadTask struct {
	allocID     string
	containerID string
	startedAt   string
}

// runNomadScenario runs the job on a loopback cluster of one server and one
// client, and in each round either kills the video plugin with SIGKILL,
// which Nomad relaunches, or restarts the client agent gracefully on the
// same data dir. The allocations must keep running in the same containers.
func runNomadScenario(nomad string) func(context.Context, *suite, int) (int, error) {
	return func(ctx context.Context, s *suite, rounds int) (done int, err error) {
		c, err := cluster.Start(ctx, cluster.Config{
			Nomad:       nomad,
			VideoPlugin: s.binary,
			Dir:         filepath.Join(s.tempDir, "nomad"),
			Clients:     []cluster.ClientSpec{{Name: "faults-1"}},
		})
		if err != nil {
			return 0, err
		}
		defer func() {
			if serr := c.Stop(); serr != nil {
				err = errors.Join(err, fmt.Errorf("stop Nomad cluster: %w", serr))
			}
		}()
		tasks, err := s.startNomadJob(ctx, c)
		if err != nil {
			return 0, err
		}
		for range rounds {
			if s.expired() || ctx.Err() != nil {
				break
			}
			if err := s.nomadRound(ctx, c, tasks); err != nil {
				return done, err
			}
			done++
		}
		return done, s.finishNomadJob(ctx, c, tasks)
	}
}

func (s *suite) startNomadJob(ctx context.Context, c *cluster.Cluster) ([]*nomadTask, error) {
	job, err := c.API.ParseJob(ctx, nomadJob, "")
	if err != nil {
		return nil, fmt.Errorf("parse job %q: %w", nomadJobID, err)
	}
	if _, err := c.API.RegisterJob(ctx, job); err != nil {
		return nil, fmt.Errorf("register job %q: %w", nomadJobID, err)
	}
	var allocs []cluster.Allocation
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err = cluster.Poll(wctx, "job "+nomadJobID+" to run two allocations", func(ctx context.Context) (bool, error) {
		allocs, err = c.API.JobAllocations(ctx, nomadJobID)
		running := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				running++
			}
		}
		return running == 2, err
	})
	if err != nil {
		return nil, err
	}
	var tasks []*nomadTask
	for _, a := range allocs {
		info, n, err := allocContainer(ctx, s, a.ID)
		if err != nil {
			return nil, err
		}
		if n != 1 {
			return nil, fmt.Errorf("allocation %q has %d containers, want 1", a.ID, n)
		}
		tasks = append(tasks, &nomadTask{allocID: a.ID, containerID: info.ID, startedAt: info.State.StartedAt})
	}
	return tasks, nil
}
