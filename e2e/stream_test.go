package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/footage"
)

// streamJob is the job in jobspecs/motion-stream.nomad.hcl.
const streamJob = "motion-stream"

// streamEvents is the part of the motion program's /events the test reads.
type streamEvents struct {
	Camera string `json:"camera"`
	Events []struct {
		File  string  `json:"file"`
		Score float64 `json:"score"`
	} `json:"events"`
}

func TestStreamServiceLiveEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*jobTimeout)
	defer cancel()
	env := startConsulEnv(t, ctx)
	env.runJob(t, ctx, streamJob, filepath.Join(repoRoot, "jobspecs", "motion-stream.nomad.hcl"))

	// Before any stream arrives, each camera's check is critical and its
	// /health reports that it waits for the stream.
	nodes := map[string]string{"north-gate": "edge-1", "south-gate": "edge-2"}
	var web *api.ServiceEntry
	for _, camera := range []string{"north-gate", "south-gate"} {
		entry, err := waitStreamService(ctx, env, "motion-stream", camera, api.HealthCritical)
		if err != nil {
			t.Fatalf("%v (allocations: %s)", err, allocSummary(ctx, env.nomad, streamJob))
		}
		wantTags := []string{"camera:" + camera, "node:" + nodes[camera], "site:downtown"}
		if tags := slices.Sorted(slices.Values(entry.Service.Tags)); !slices.Equal(tags, wantTags) {
			t.Errorf("%s tags = %v, want %v", camera, tags, wantTags)
		}
		if health := getHealth(t, ctx, serviceAddr(entry)); !strings.Contains(health, "waiting") {
			t.Errorf("%s /health before a stream = %q, want it to say waiting", camera, health)
		}
		if camera == "north-gate" {
			web = entry
		}
	}

	ingest, err := waitStreamService(ctx, env, "motion-stream-rtsp", "north-gate", api.HealthPassing)
	if err != nil {
		t.Fatal(err)
	}
	src, err := footage.Find(ctx, repoRoot, filepath.Join(repoRoot, ".cache", "footage"))
	if err != nil {
		t.Fatalf("find footage: %v", err)
	}
	url := fmt.Sprintf("rtsp://%s/north-gate", serviceAddr(ingest))
	pushCtx, stopPush := context.WithCancel(ctx)
	defer stopPush()
	go pushFootage(pushCtx, src, url)

	if _, err := waitStreamService(ctx, env, "motion-stream", "north-gate", api.HealthPassing); err != nil {
		t.Fatalf("%v once footage is pushed", err)
	}
	events := waitStreamEvents(t, ctx, serviceAddr(web), 2)
	if events.Camera != "north-gate" {
		t.Errorf("/events camera = %q, want north-gate", events.Camera)
	}
	// The events name the stream as the task reads it, at its own address.
	const taskURL = "rtsp://0.0.0.0:8554/north-gate"
	for i, e := range events.Events {
		if e.File != taskURL {
			t.Errorf("event %d file = %q, want the task's stream %q", i, e.File, taskURL)
		}
		if e.Score <= 0 || e.Score > 1 {
			t.Errorf("event %d score %g is outside (0, 1]", i, e.Score)
		}
	}
	stopPush()
}

// waitStreamService waits until service has one instance tagged with the
// camera whose checks have the given status, and returns it.
func waitStreamService(ctx context.Context, env *consulEnv, service, camera, status string) (*api.ServiceEntry, error) {
	var found *api.ServiceEntry
	err := cluster.Poll(ctx, fmt.Sprintf("%s of camera %s to be %s", service, camera, status), func(ctx context.Context) (bool, error) {
		entries, _, err := env.consul.Health().Service(service, "camera:"+camera, false, (&api.QueryOptions{}).WithContext(ctx))
		if err != nil || len(entries) != 1 {
			return false, err
		}
		found = entries[0]
		return found.Checks.AggregatedStatus() == status, nil
	})
	return found, err
}

func serviceAddr(entry *api.ServiceEntry) string {
	return net.JoinHostPort(entry.Service.Address, strconv.Itoa(entry.Service.Port))
}

// pushFootage sends the footage, looped in real time and encoded as MPEG-4
// (which RTP carries, unlike vtest.avi's MS-MPEG4 v3), to the RTSP server
// at url until ctx is done. It starts ffmpeg again whenever it exits,
// because the receiver reads the stream again after a disconnect.
func pushFootage(ctx context.Context, src, url string) {
	retry := time.NewTicker(500 * time.Millisecond)
	defer retry.Stop()
	for ctx.Err() == nil {
		cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
			"-re", "-stream_loop", "-1", "-i", src,
			"-an", "-c:v", "mpeg4", "-q:v", "5",
			"-f", "rtsp", "-rtsp_transport", "tcp", url)
		_ = cmd.Run()
		select {
		case <-ctx.Done():
		case <-retry.C:
		}
	}
}

// waitStreamEvents polls the motion program's /events until it lists at
// least want events.
func waitStreamEvents(t *testing.T, ctx context.Context, addr string, want int) streamEvents {
	t.Helper()
	var events streamEvents
	client := &http.Client{Timeout: 5 * time.Second}
	err := cluster.Poll(ctx, fmt.Sprintf("%d events from http://%s/events", want, addr), func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/events", nil)
		if err != nil {
			return false, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		events = streamEvents{}
		if err := json.NewDecoder(resp.Body).Decode(&events); err != nil {
			return false, fmt.Errorf("decode /events: %w", err)
		}
		return len(events.Events) >= want, nil
	})
	if err != nil {
		t.Fatalf("%v (last: %d events)", err, len(events.Events))
	}
	return events
}

// getHealth returns the status line and body of the /health endpoint at
// addr, host:port.
func getHealth(t *testing.T, ctx context.Context, addr string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		t.Fatalf("health request: %v", err)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET /health at %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /health at %s: %v", addr, err)
	}
	return resp.Status + " " + string(body)
}
