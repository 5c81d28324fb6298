package registrar

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-video/ferry/internal/consultest"
)

// A scheduler reads the service tags, then the KV documents, so the
// registrar writes a new camera's document before the tag that lists it,
// and deletes a removed camera's document only after the tag is gone.
func TestPublishWritesKVAroundService(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)
	root := t.TempDir()
	addRecording(t, root, "cam-1", "a.avi")
	r := newRegistrar(t, agent, Config{Node: "order-1", Roots: []string{root}})
	var writes []string
	r.publisher.trace = func(kind, key string) { writes = append(writes, kind+" "+key) }

	syncOnce(t, r)
	addRecording(t, root, "cam-2", "b.avi")
	if err := os.RemoveAll(filepath.Join(root, "cam-1")); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, r)

	want := []string{
		"kv_put ferry/storage/order-1/cam-1",
		"register camera-storage-order-1",
		"kv_put ferry/storage/order-1/cam-2",
		"register camera-storage-order-1",
		"kv_delete ferry/storage/order-1/cam-1",
	}
	if !slices.Equal(writes, want) {
		t.Errorf("writes = %q, want %q", writes, want)
	}
	if pair, _, err := client.KV().Get("ferry/storage/order-1/cam-2", nil); err != nil || pair == nil {
		t.Errorf("cam-2 document: pair %v, error %v, want it written", pair, err)
	}
}
