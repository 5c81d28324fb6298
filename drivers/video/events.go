package video

import (
	"context"
	"sync"

	"github.com/ferry-video/ferry/plugins"
)

// eventBufferSize is how many events a slow TaskEvents reader may fall behind
// before further events to it are dropped.
const eventBufferSize = 64

// eventBroker fans task events out to every TaskEvents stream.
type eventBroker struct {
	mu          sync.Mutex
	subscribers map[chan *plugins.TaskEvent]struct{}
	dropped     int
}

func newEventBroker() *eventBroker {
	return &eventBroker{subscribers: make(map[chan *plugins.TaskEvent]struct{})}
}

func (b *eventBroker) subscribe(ctx context.Context) <-chan *plugins.TaskEvent {
	ch := make(chan *plugins.TaskEvent, eventBufferSize)
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

// publish sends ev to every stream without blocking.
func (b *eventBroker) publish(ev *plugins.TaskEvent) {
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
