package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// partitionJobID names the job of the partition scenario.
const partitionJobID = "ferry-faults-net"

// partitionGroups are the job's groups, one per camera, each with one
// allocation.
var partitionGroups = []string{"camera-1", "camera-2"}

// partitionLostAfter is the job's disconnect window: a cut client's
// allocations stay unknown, not lost, for this long.
const partitionLostAfter = 2 * time.Minute

// partitionJob runs one counter task per camera. A restart fails the
// allocation, so the checks see it. Nomad counts a replacement of a
// disconnected allocation as a reschedule, so rescheduling stays on.
var partitionJob = func() string {
	var groups string
	for _, g := range partitionGroups {
		groups += fmt.Sprintf(`
  group %q {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      unlimited      = true
      delay          = "5s"
      delay_function = "constant"
    }
    update {
      min_healthy_time = "1s"
    }
    disconnect {
      lost_after = %q
      replace    = true
      reconcile  = "keep_replacement"
    }
    task "analysis" {
      driver       = "video"
      kill_timeout = "2s"
      config {
        image        = %q
        command      = "/bin/sh"
        args         = ["-c", %q]
        network_mode = "none"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
`, g, partitionLostAfter, testImage, counterScript)
	}
	return fmt.Sprintf("job %q {\n  type = \"service\"\n%s}\n", partitionJobID, groups)
}()

// partitionFault is one cut of a client's link.
type partitionFault struct {
	// client is the index of the client whose link is cut; -1 picks the
	// client that runs the first group.
	client int
	// long cuts the link until Nomad has marked the client disconnected
	// and replaced its allocations, then holds it for hold. A short cut
	// lasts hold, which stays below any heartbeat deadline.
	long bool
	hold time.Duration
}

// shortCutMax is the longest short cut: below heartbeatGrace, so that no
// heartbeat deadline passes even if the cut starts just after one was due.
const shortCutMax = 2 * time.Second

func (s *suite) pickPartitionFault(clients int) partitionFault {
	f := partitionFault{client: s.rng.Intn(clients), long: s.rng.Intn(2) == 0}
	if f.long {
		f.hold = s.randomDelay(3 * time.Second)
	} else {
		f.hold = 200*time.Millisecond + s.randomDelay(shortCutMax-200*time.Millisecond)
	}
	return f
}

// runPartitionScenario runs the job on two clients in their own network
// namespaces and cuts one client's link in each round.
func runPartitionScenario(nomad string) func(context.Context, *suite, int) (int, error) {
	return func(ctx context.Context, s *suite, rounds int) (int, error) {
		faults := make([]partitionFault, rounds)
		for i := range faults {
			faults[i] = s.pickPartitionFault(2)
		}
		return s.partitionRounds(ctx, nomad, faults)
	}
}

func (s *suite) partitionRounds(ctx context.Context, nomad string, faults []partitionFault) (done int, err error) {
	c, err := s.startNetCluster(ctx, nomad, 2)
	if err != nil {
		return 0, err
	}
	defer func() {
		if serr := c.stop(err != nil); serr != nil {
			err = errors.Join(err, fmt.Errorf("clean up partition cluster: %w", serr))
		}
	}()
	if err := c.registerJob(ctx, partitionJob); err != nil {
		return 0, err
	}
	state, err := s.waitPartitionSettled(ctx, c, nil)
	if err != nil {
		return 0, err
	}
	for _, f := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if state, err = s.partitionRound(ctx, c, state, f); err != nil {
			return done, err
		}
		done++
	}
	return done, s.finishPartitionJob(ctx, c)
}

func (s *suite) partitionRound(ctx context.Context, c *netCluster, before map[string]*groupCopy, f partitionFault) (map[string]*groupCopy, error) {
	if first := before[partitionGroups[0]]; f.client < 0 && first != nil {
		f.client = c.clientIndex(first.nodeID)
	}
	f.client = max(f.client, 0)
	node := c.clients[f.client]
	s.logger.Info("cutting a client's link", "node", node.name, "long", f.long, "hold_after_disconnect", f.hold)
	cutAt := time.Now()
	if err := c.lab.setLink(ctx, f.client, false); err != nil {
		return nil, err
	}
	if f.long {
		if err := s.waitReplaced(ctx, c, node, before); err != nil {
			c.lab.setLink(ctx, f.client, true)
			return nil, err
		}
	}
	time.Sleep(f.hold)
	if err := c.lab.setLink(ctx, f.client, true); err != nil {
		return nil, err
	}
	cut := time.Since(cutAt)
	s.logger.Info("healed a client's link", "node", node.name, "cut", cut)
	if !f.long {
		// A heartbeat that the cut made the server miss would mark the
		// client disconnected by this time at the latest.
		time.Sleep(time.Until(cutAt.Add(2*minHeartbeatTTL + heartbeatGrace)))
	}

	after, err := s.waitPartitionSettled(ctx, c, before)
	if err != nil {
		return nil, err
	}
	s.checkPartitionRound(ctx, c, before, after, f, cut)
	return after, s.checkPartitionLogs(ctx, c, after)
}
