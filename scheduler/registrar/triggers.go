package registrar

import (
	"context"
	"time"
)

// Triggers returns a channel that receives on every tick and, debounce
// after the first of a burst of changes, once for the whole burst, so a
// folder copy of many files causes one scan. It closes nothing and stops
// when ctx ends.
func Triggers(ctx context.Context, ticks <-chan time.Time, changes <-chan struct{}, debounce time.Duration, clock Clock) <-chan time.Time {
	out := make(chan time.Time)
	go func() {
		var settled <-chan time.Time
		for {
			var fire time.Time
			select {
			case <-ctx.Done():
				return
			case fire = <-ticks:
			case <-changes:
				if settled == nil {
					settled = clock.After(debounce)
				}
				continue
			case fire = <-settled:
				settled = nil
			}
			select {
			case out <- fire:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
