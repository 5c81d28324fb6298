package video

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/client"

	"github.com/ferry-video/ferry/plugins"
)

// reconnectMinDelay is the first pause before the fingerprint retries an
// unreachable dockerd. The pause doubles after each failure, up to
// fingerprint_period.
const reconnectMinDelay = time.Second

// reconnectBackoff is the sequence of growing pauses between attempts to reach
// dockerd.
type reconnectBackoff struct {
	min, max time.Duration
	next     time.Duration
}

// delay returns the pause before the next attempt and doubles the one after.
func (b *reconnectBackoff) delay() time.Duration {
	d := b.next
	if d == 0 {
		d = b.min
	}
	b.next = min(2*d, b.max)
	return min(d, b.max)
}

func (b *reconnectBackoff) reset() { b.next = 0 }

// checkDocker pings dockerd and returns a recoverable error when the ping fails,
// so that Nomad's restart policy retries the start later.
func checkDocker(ctx context.Context, docker *client.Client) error {
	pingCtx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	if _, err := docker.Ping(pingCtx); err != nil {
		return plugins.Recoverable(fmt.Errorf("docker is unreachable at %q: %w: start dockerd or correct endpoint in the video plugin config, and Nomad retries the start",
			docker.DaemonHost(), err))
	}
	return nil
}

// dockerWatch follows the fingerprint's view of dockerd, logs when it
// becomes unreachable and when a request succeeds again, and paces the attempts
// while it is unreachable.
type dockerWatch struct {
	d           *Driver
	backoff     reconnectBackoff
	unreachable bool
}

// observe records one fingerprint and returns the channel that wakes the
// next attempt while dockerd is unreachable, or nil when it was reachable.
func (w *dockerWatch) observe(fp *plugins.Fingerprint, endpoint string) <-chan time.Time {
	down := strings.HasPrefix(fp.Description, dockerUnreachable)
	switch {
	case down && !w.unreachable:
		w.d.logger.Warn("docker is unreachable, retrying with backoff", "endpoint", endpoint, "error", fp.Description)
	case !down && w.unreachable:
		w.d.logger.Info("reconnected to Docker", "endpoint", endpoint)
		w.backoff.reset()
	}
	w.unreachable = down
	if !down {
		return nil
	}

	delay := w.backoff.delay()
	w.d.logger.Debug("next attempt to reach Docker", "endpoint", endpoint, "delay", delay)
	return w.d.clock.After(delay)
}
