package service

import (
	"context"
	"time"
)

// watchCatalog sends every catalog read to out, the failed ones too, and
// backs off after failures.
func (s *Service) watchCatalog(ctx context.Context, out chan<- catalogUpdate) {
	var index uint64
	failures := 0
	for ctx.Err() == nil {
		cat, next, err := s.catalog.Read(ctx, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			s.log.Warn("catalog read failed; retrying", "error", err, "failures", failures)
			// A restarted Consul starts its indexes again from 1, and a
			// query with the old index would block until it passed it.
			index = 0
		} else {
			if failures > 0 {
				s.log.Info("catalog read succeeded again", "failures", failures, "index", next)
			}
			failures = 0
			// A lower index means Consul lost its state, and the next
			// query starts from the new index.
			index = next
		}
		select {
		case out <- catalogUpdate{catalog: cat, index: next, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			s.sleep(ctx, backoff(failures))
		}
	}
}

// watchNomad signals out each time Nomad's jobs or nodes change. Signals
// that the loop has not taken yet merge into one.
func (s *Service) watchNomad(ctx context.Context, out chan<- struct{}) {
	var index uint64
	failures := 0
	for ctx.Err() == nil {
		next, err := s.nomad.Wait(ctx, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			s.log.Warn("nomad watch failed; retrying", "error", err, "failures", failures)
			s.sleep(ctx, backoff(failures))
			continue
		}
		failures = 0
		if next == index {
			continue
		}
		index = next
		select {
		case out <- struct{}{}:
		default:
		}
	}
}

func (s *Service) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-s.clock.After(d):
	case <-ctx.Done():
	}
}
