package plugins

import (
	"context"
	"testing"
)

func TestEventBrokerFansOut(t *testing.T) {
	b := NewEventBroker()
	ctx, cancel := context.WithCancel(context.Background())
	first, second := b.Subscribe(ctx), b.Subscribe(ctx)

	b.Publish(&TaskEvent{TaskID: "t1", Message: "pulled"})
	for i, ch := range []<-chan *TaskEvent{first, second} {
		if ev := <-ch; ev.Message != "pulled" {
			t.Errorf("stream %d got %q, want pulled", i, ev.Message)
		}
	}

	cancel()
	for i, ch := range []<-chan *TaskEvent{first, second} {
		for range ch {
		}
		if _, open := <-ch; open {
			t.Errorf("stream %d still open after its context ended", i)
		}
	}
}

func TestEventBrokerDropsForFullStream(t *testing.T) {
	b := NewEventBroker()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := b.Subscribe(ctx)

	for i := 0; i < eventBufferSize+3; i++ {
		b.Publish(&TaskEvent{Message: "event"})
	}
	if got := b.Dropped(); got != 3 {
		t.Errorf("Dropped = %d, want 3", got)
	}
	if got := len(stream); got != eventBufferSize {
		t.Errorf("buffered events = %d, want %d", got, eventBufferSize)
	}
}
