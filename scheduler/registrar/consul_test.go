package registrar

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferry-video/ferry/internal/consultest"
	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"
)

var aviHeader = []byte("RIFF\x10\x00\x00\x00AVI LIST")

// addRecording writes one AVI file for camera under root.
func addRecording(t *testing.T, root, camera, name string) {
	t.Helper()
	dir := filepath.Join(root, camera)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), aviHeader, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newRegistrar(t *testing.T, agent *consultest.Agent, cfg Config) *Registrar {
	t.Helper()
	cfg.ConsulAddr = agent.HTTPAddr
	if cfg.Site == "" {
		cfg.Site = "downtown"
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	r, err := New(&cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func syncOnce(t *testing.T, r *Registrar) {
	t.Helper()
	if err := r.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func readDetail(t *testing.T, client *api.Client, key string) (CameraDetail, uint64) {
	t.Helper()
	pair, _, err := client.KV().Get(key, nil)
	if err != nil || pair == nil {
		t.Fatalf("get kv %q: pair %v, error %v", key, pair, err)
	}
	var detail CameraDetail
	if err := json.Unmarshal(pair.Value, &detail); err != nil {
		t.Fatalf("decode kv %q: %v", key, err)
	}
	return detail, pair.ModifyIndex
}

func TestRegistrarConsul(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)

	t.Run("registration and sanitised ids", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		addRecording(t, root, "Cam 7,north", "b.avi")
		r := newRegistrar(t, agent, Config{Node: "reg-1", Roots: []string{root}})
		syncOnce(t, r)

		svc, _, err := client.Agent().Service("camera-storage-reg-1", nil)
		if err != nil {
			t.Fatalf("read service: %v", err)
		}
		odd := SanitizeID("Cam 7,north")
		wantTags := []string{"camera:" + odd, "camera:cam-1"}
		slices.Sort(wantTags)
		if !slices.Equal(svc.Tags, wantTags) {
			t.Errorf("tags = %v, want %v", svc.Tags, wantTags)
		}
		if svc.Meta["site"] != "downtown" || svc.Meta["node"] != "reg-1" || svc.Meta["cameras"] != "2" {
			t.Errorf("meta = %v, want site downtown, node reg-1, cameras 2", svc.Meta)
		}
		detail, _ := readDetail(t, client, "ferry/storage/reg-1/"+odd)
		if detail.Camera != "Cam 7,north" || detail.ID != odd || detail.Recordings != 1 {
			t.Errorf("detail = %+v, want original id, sanitised id and 1 recording", detail)
		}
	})

	t.Run("writes only changes", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		cfg := Config{Node: "reg-2", Roots: []string{root}}
		r := newRegistrar(t, agent, cfg)
		syncOnce(t, r)
		want := Writes{Registrations: 1, KVPuts: 1}
		if got := r.Writes(); got != want {
			t.Fatalf("writes after first sync = %+v, want %+v", got, want)
		}
		_, index := readDetail(t, client, "ferry/storage/reg-2/cam-1")

		syncOnce(t, r)
		if got := r.Writes(); got != want {
			t.Errorf("writes after unchanged sync = %+v, want %+v", got, want)
		}

		restarted := newRegistrar(t, agent, cfg)
		syncOnce(t, restarted)
		if got := restarted.Writes(); got != (Writes{}) {
			t.Errorf("writes after restart = %+v, want none", got)
		}
		if _, after := readDetail(t, client, "ferry/storage/reg-2/cam-1"); after != index {
			t.Errorf("kv modify index = %d, want unchanged %d", after, index)
		}

		addRecording(t, root, "cam-2", "b.avi")
		syncOnce(t, restarted)
		if got, want := restarted.Writes(), (Writes{Registrations: 1, KVPuts: 1}); got != want {
			t.Errorf("writes after new camera = %+v, want %+v", got, want)
		}
		if err := os.RemoveAll(filepath.Join(root, "cam-2")); err != nil {
			t.Fatal(err)
		}
		syncOnce(t, restarted)
		if got, want := restarted.Writes(), (Writes{Registrations: 2, KVPuts: 1, KVDeletes: 1}); got != want {
			t.Errorf("writes after camera removed = %+v, want %+v", got, want)
		}
	})

	t.Run("rewrites kv lost by consul", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		r := newRegistrar(t, agent, Config{Node: "reg-lost", Roots: []string{root}})
		syncOnce(t, r)
		if _, err := client.KV().DeleteTree("ferry/storage/reg-lost/", nil); err != nil {
			t.Fatalf("delete kv tree: %v", err)
		}

		syncOnce(t, r)

		detail, _ := readDetail(t, client, "ferry/storage/reg-lost/cam-1")
		if detail.Camera != "cam-1" {
			t.Errorf("detail after kv loss = %+v, want cam-1 written again", detail)
		}
		if got, want := r.Writes(), (Writes{Registrations: 1, KVPuts: 2}); got != want {
			t.Errorf("writes = %+v, want %+v", got, want)
		}
	})

	t.Run("blocking query wakes on change", func(t *testing.T) {
		root := t.TempDir()
		addRecording(t, root, "cam-1", "a.avi")
		r := newRegistrar(t, agent, Config{Node: "reg-3", ServiceName: "storage-blocking", Roots: []string{root}})
		syncOnce(t, r)
		_, meta, err := client.Catalog().Service("storage-blocking", "", nil)
		if err != nil {
			t.Fatalf("catalog service: %v", err)
		}

		type result struct {
			entries []*api.CatalogService
			err     error
		}
		woke := make(chan result, 1)
		go func() {
			opts := &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: time.Minute}
			entries, _, err := client.Catalog().Service("storage-blocking", "", opts)
			woke <- result{entries, err}
		}()

		addRecording(t, root, "cam-9", "z.avi")
		syncOnce(t, r)
		got := <-woke
		if got.err != nil {
			t.Fatalf("blocking query: %v", got.err)
		}
		if len(got.entries) != 1 || !slices.Contains(got.entries[0].ServiceTags, "camera:cam-9") {
			t.Errorf("blocking query returned %d entries, want one with tag camera:cam-9", len(got.entries))
		}
	})
}
