package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/jobspecs/motion"
	"github.com/ferry-video/ferry/jobspecs/motion/internal/testclip"
)

// listeningRun is a run of the command with -listen in a goroutine.
type listeningRun struct {
	baseURL   string
	processed chan struct{}
	cancel    context.CancelFunc
	code      chan int
	stderr    *bytes.Buffer
}

func startListeningRun(t *testing.T, folder string) *listeningRun {
	t.Helper()
	return startRun(t, "-ffmpeg", testclip.FFmpeg, "-listen", "127.0.0.1:0", folder)
}

// startRun runs the command with args, which must contain -listen, and
// returns once its HTTP endpoint listens.
func startRun(t *testing.T, args ...string) *listeningRun {
	t.Helper()
	addresses := make(chan string, 1)
	r := &listeningRun{processed: make(chan struct{}), code: make(chan int, 1), stderr: &bytes.Buffer{}}
	hooks := hooks{
		listen: func(network, address string) (net.Listener, error) {
			listener, err := net.Listen(network, address)
			if err == nil {
				addresses <- listener.Addr().String()
			}
			return listener, err
		},
		processed: func() { close(r.processed) },
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.code <- runWithHooks(ctx, args, &bytes.Buffer{}, r.stderr, hooks) }()
	select {
	case address := <-addresses:
		r.baseURL = "http://" + address
	case code := <-r.code:
		t.Fatalf("run exited with code %d before listening: %s", code, r.stderr.String())
	}
	t.Cleanup(cancel)
	return r
}

func getJSON(t *testing.T, url string, value any) int {
	t.Helper()
	response, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	if err := json.NewDecoder(response.Body).Decode(value); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
	return response.StatusCode
}

func TestListenServesAfterProcessing(t *testing.T) {
	clip := testclip.Footage(t)
	good := t.TempDir()
	clip.Link(t, good, "a.avi")
	mixed := t.TempDir()
	clip.Link(t, mixed, "a.avi")
	writeNotes(t, mixed)

	tests := []struct {
		name       string
		folder     string
		wantHealth int
		wantStatus string
		wantReason string
		wantCode   int
	}{
		{"footage", good, http.StatusOK, "done", "", exitOK},
		{"not a video", mixed, http.StatusServiceUnavailable, "failed", `recording "notes.txt": not a readable video`, exitNotVideo},
		{"empty folder", t.TempDir(), http.StatusServiceUnavailable, "failed", "no recordings", exitNoRecordings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startListeningRun(t, tt.folder)
			<-r.processed

			var health motion.HealthReport
			if code := getJSON(t, r.baseURL+"/health", &health); code != tt.wantHealth {
				t.Errorf("/health status %d, want %d", code, tt.wantHealth)
			}
			if health.Status != tt.wantStatus {
				t.Errorf("/health status field %q, want %q", health.Status, tt.wantStatus)
			}
			if !strings.Contains(health.Reason, tt.wantReason) {
				t.Errorf("/health reason %q, want it to contain %q", health.Reason, tt.wantReason)
			}

			var events motion.EventsReport
			if code := getJSON(t, r.baseURL+"/events", &events); code != http.StatusOK {
				t.Errorf("/events status %d, want 200", code)
			}
			if !events.Done {
				t.Error("/events done is false after processing")
			}
			if tt.folder != "" && events.Camera == "" {
				t.Error("/events camera is empty")
			}
			if tt.wantCode != exitNoRecordings && len(events.Events) < clip.MinEvents {
				t.Errorf("/events has %d events, want at least %d from a.avi", len(events.Events), clip.MinEvents)
			}

			select {
			case code := <-r.code:
				t.Fatalf("run exited with code %d before the stop signal", code)
			default:
			}
			r.cancel()
			if code := <-r.code; code != tt.wantCode {
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
		})
	}
}

func TestListenRejectsBadAddress(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-listen", "127.0.0.1:notaport", t.TempDir()}, &bytes.Buffer{}, &stderr)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), `invalid -listen "127.0.0.1:notaport"`) {
		t.Errorf("stderr %q does not name the -listen value", stderr.String())
	}
}
