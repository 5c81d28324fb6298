package plugins

import (
	"context"
	"sync"
)

// eventBufferSize is how many events a slow TaskEvents reader may fall behind
// before further events to it are dropped.
const eventBufferSize = 64

// EventBroker fans a driver's task events out to every open TaskEvents
// stream. Publish never blocks: a stream more than 64 events behind loses
// the newer ones, which Dropped counts.
type EventBroker struct {
	mu          sync.Mutex
	subscribers map[chan *TaskEvent]struct{}
	dropped     int
}

// NewEventBroker returns a broker with no streams.
func NewEventBroker() *EventBroker {
	return &EventBroker{subscribers: make(map[chan *TaskEvent]struct{})}
}

// Subscribe opens a stream that receives every event published until ctx
// is done, when the channel is closed.
func (b *EventBroker) Subscribe(ctx context.Context) <-chan *TaskEvent {
	ch := make(chan *TaskEvent, eventBufferSize)
	b.mu.Lock()
	b.subscribers[ch] = struct{}{}
	b.mu.Unlock()

	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subscribers, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}

// Publish sends ev to every open stream without blocking.
func (b *EventBroker) Publish(ev *TaskEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subscribers {
		select {
		case ch <- ev:
		default:
			b.dropped++
		}
	}
}

// Dropped returns how many deliveries were dropped because a stream was
// full.
func (b *EventBroker) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}
