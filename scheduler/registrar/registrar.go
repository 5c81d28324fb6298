package registrar

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/hashicorp/go-hclog"
)

// Backoff bounds for retries after Consul could not be reached.
const (
	minBackoff = time.Second
	maxBackoff = time.Minute
)

// Clock is the time source of the run loop, so tests can step time.
type Clock interface {
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Registrar scans the node's camera storage and publishes it. Run owns all
// of its state.
type Registrar struct {
	cfg       *Config
	log       hclog.Logger
	inventory *inventory.Inventory
	publisher *Publisher
	// lastScanErr is the previous scan's error text, so a folder that stays
	// unreadable is logged once, not every period.
	lastScanErr string
	// lastTagsErr is the same for the camera tags files.
	lastTagsErr string
	// reported holds the camera ids whose sanitising was logged already.
	reported map[string]bool
}

// New returns a registrar for a validated config.
func New(cfg *Config, log hclog.Logger) (*Registrar, error) {
	publisher, err := NewPublisher(cfg)
	if err != nil {
		return nil, err
	}
	roots := append(append([]string(nil), cfg.Roots...), cfg.ReplicaRoots...)
	return &Registrar{
		cfg:       cfg,
		log:       log.Named("registrar"),
		inventory: inventory.New(roots),
		publisher: publisher,
		reported:  make(map[string]bool),
	}, nil
}

// Scan reads the storage roots and returns the publication, without
// writing anything.
func (r *Registrar) Scan() Publication {
	snap, err := r.inventory.Rescan()
	pub := Build(r.cfg, snap, r.inventory.Spans(), r.readAllTags(snap), err)
	text := ""
	if err != nil {
		text = err.Error()
	}
	if text != r.lastScanErr {
		r.logScanChange(pub, err)
		r.lastScanErr = text
	}
	r.reportSanitized(pub)
	return pub
}

// logScanChange logs a scan error that differs from the previous one, with
// one line per unreadable camera folder, or that the storage is readable
// again.
func (r *Registrar) logScanChange(pub Publication, err error) {
	if err == nil {
		r.log.Info("camera storage readable again", "node", r.cfg.Node)
		return
	}
	r.log.Warn("camera storage scan incomplete", "node", r.cfg.Node, "error", err)
	for camera, reason := range pub.Unreadable {
		r.log.Warn("camera folder unreadable; publishing the node without the camera", "node", r.cfg.Node, "camera", camera, "error", reason)
	}
}

// readAllTags reads each camera's tags files. A problem is logged when it
// first appears, and the camera keeps the tags that could be read.
func (r *Registrar) readAllTags(snap inventory.Snapshot) map[string][]string {
	tags := make(map[string][]string, len(snap.Cameras))
	var errs []error
	for _, cam := range snap.Cameras {
		camTags, err := readTags(cam.Dirs)
		if err != nil {
			errs = append(errs, err)
		}
		if len(camTags) > 0 {
			tags[cam.ID] = camTags
		}
	}
	text := ""
	if err := errors.Join(errs...); err != nil {
		text = err.Error()
	}
	if text != r.lastTagsErr && text != "" {
		r.log.Warn("camera tags incomplete", "node", r.cfg.Node, "error", text)
	}
	r.lastTagsErr = text
	return tags
}

// reportSanitized logs, once per camera, each camera id that Consul tags or
// Nomad metadata cannot contain, with the id it is published under. Jobs
// must select such a camera by the published id.
func (r *Registrar) reportSanitized(pub Publication) {
	for _, detail := range pub.Details {
		if detail.Camera == detail.ID || r.reported[detail.Camera] {
			continue
		}
		r.reported[detail.Camera] = true
		r.log.Warn("camera id has characters that Consul tags and Nomad metadata cannot contain; publishing it under a sanitised id",
			"node", r.cfg.Node, "camera", detail.Camera, "camera_id", detail.ID)
	}
}

// Claim returns an error wrapping ErrNodeTaken when another live
// registrar publishes this node, as Publisher.Claim does.
func (r *Registrar) Claim(ctx context.Context) error {
	return r.publisher.Claim(ctx)
}

// Sync scans and publishes once.
func (r *Registrar) Sync(ctx context.Context) error {
	return r.publisher.Apply(ctx, r.Scan())
}

// Writes returns the writes sent to Consul so far.
func (r *Registrar) Writes() Writes {
	return r.publisher.Writes
}

// Run syncs at once, then on every tick, until ctx is done. A failed sync
// is retried with exponential backoff, and ticks that arrive while a retry
// is pending are dropped. When ctx is done, Run withdraws the node from
// the catalog if withdraw is true.
func (r *Registrar) Run(ctx context.Context, ticks <-chan time.Time, clock Clock, withdraw bool) {
	r.log.Info("registrar started", "node", r.cfg.Node, "service_id", r.cfg.ServiceID(), "consul", r.cfg.ConsulAddr)
	var retry <-chan time.Time
	failures := 0
	sync := func() {
		err := r.Sync(ctx)
		if err != nil && ctx.Err() != nil {
			// Shutdown cut the sync short, so there is nothing to retry.
			return
		}
		if err != nil {
			failures++
			delay := backoff(failures)
			r.log.Error("publish to consul failed; retrying", "node", r.cfg.Node, "attempt", failures, "retry_in", delay, "error", err)
			retry = clock.After(delay)
			return
		}
		if failures > 0 {
			r.log.Info("publish to consul recovered", "node", r.cfg.Node, "failed_attempts", failures)
		}
		failures, retry = 0, nil
	}

	sync()
	for {
		select {
		case <-ctx.Done():
			r.stop(withdraw)
			return
		case <-ticks:
			// A pending retry runs on its own timer instead.
			if retry == nil {
				sync()
			}
		case <-retry:
			sync()
		}
	}
}

func (r *Registrar) stop(withdraw bool) {
	if withdraw {
		// The run context is done, so the withdrawal gets its own deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.publisher.Withdraw(ctx); err != nil {
			r.log.Error("withdraw from consul failed", "node", r.cfg.Node, "service_id", r.cfg.ServiceID(), "error", err)
		}
	}
	r.log.Info("registrar stopped", "node", r.cfg.Node)
}

// backoff returns the delay before retry number failures: 1s doubling up
// to 1m.
func backoff(failures int) time.Duration {
	delay := minBackoff
	for i := 1; i < failures && delay < maxBackoff; i++ {
		delay *= 2
	}
	return min(delay, maxBackoff)
}
