package video

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
)

const stagingToken = "staging-test-token"

// recordingPeer is a fake peer node that serves recordings over TLS on
// loopback with the staging API.
type recordingPeer struct {
	server *httptest.Server
	token  string
	files  map[string][]byte
	// listing overrides the entries computed from files when set.
	listing []recordingEntry
	// breakOnce names files whose first full response stops half way.
	breakOnce map[string]bool

	mu     sync.Mutex
	ranges []string
}

func newRecordingPeer(t *testing.T, files map[string][]byte) *recordingPeer {
	t.Helper()
	p := &recordingPeer{token: stagingToken, files: files, breakOnce: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/recordings/{camera}", p.serveList)
	mux.HandleFunc("GET /v1/recordings/{camera}/{name}", p.serveFile)
	p.server = httptest.NewTLSServer(mux)
	t.Cleanup(p.server.Close)
	return p
}

func sha256Of(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func (p *recordingPeer) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+p.token {
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return false
	}
	if r.PathValue("camera") != "remote-cam" {
		http.Error(w, "camera not found", http.StatusNotFound)
		return false
	}
	return true
}

func (p *recordingPeer) serveList(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(w, r) {
		return
	}
	entries := p.listing
	if entries == nil {
		for name, data := range p.files {
			entries = append(entries, recordingEntry{Name: name, Size: int64(len(data)), SHA256: sha256Of(data)})
		}
	}
	json.NewEncoder(w).Encode(entries)
}

func (p *recordingPeer) serveFile(w http.ResponseWriter, r *http.Request) {
	if !p.authorized(w, r) {
		return
	}
	name := r.PathValue("name")
	data, ok := p.files[name]
	if !ok {
		http.Error(w, "recording not found", http.StatusNotFound)
		return
	}
	p.mu.Lock()
	p.ranges = append(p.ranges, r.Header.Get("Range"))
	broken := p.breakOnce[name] && r.Header.Get("Range") == ""
	p.breakOnce[name] = false
	p.mu.Unlock()

	w.Header().Set(checksumHeader, sha256Of(data))
	if broken {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

// stagingConfig writes the token and the peer's certificate to files and
// returns a staging block that names the peer.
func (p *recordingPeer) stagingConfig(t *testing.T, token string) *StagingConfig {
	t.Helper()
	dir := t.TempDir()
	cfg := &StagingConfig{
		Peers:     []string{p.server.URL},
		TokenFile: filepath.Join(dir, "token"),
		CAFile:    filepath.Join(dir, "ca.pem"),
	}
	if err := os.WriteFile(cfg.TokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.server.Certificate().Raw})
	if err := os.WriteFile(cfg.CAFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate staging config: %v", err)
	}
	return cfg
}

func TestStagerFetch(t *testing.T) {
	files := map[string][]byte{
		"a.mp4": bytes.Repeat([]byte("frame-a "), 4096),
		"b.mp4": bytes.Repeat([]byte("frame-b "), 1024),
	}
	total := int64(len(files["a.mp4"]) + len(files["b.mp4"]))
	tests := []struct {
		name      string
		camera    string
		token     string
		breakOnce string
		listing   []recordingEntry
		wantBytes int64
		wantErr   string
		wantRange string
	}{
		{name: "fresh copy", camera: "remote-cam", token: stagingToken, wantBytes: total},
		{name: "broken transfer resumes", camera: "remote-cam", token: stagingToken, breakOnce: "a.mp4",
			wantBytes: total, wantRange: "bytes=" + strconv.Itoa(len(files["a.mp4"])/2) + "-"},
		{name: "checksum mismatch", camera: "remote-cam", token: stagingToken, wantErr: "checksum mismatch",
			listing: []recordingEntry{{Name: "a.mp4", Size: int64(len(files["a.mp4"])), SHA256: strings.Repeat("0", 64)}}},
		{name: "unsafe name", camera: "remote-cam", token: stagingToken, wantErr: `invalid recording name "../a.mp4"`,
			listing: []recordingEntry{{Name: "../a.mp4", Size: 1, SHA256: strings.Repeat("0", 64)}}},
		{name: "wrong token", camera: "remote-cam", token: "other", wantErr: "401 Unauthorized"},
		{name: "unknown camera", camera: "gone-cam", token: stagingToken, wantErr: "404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := newRecordingPeer(t, files)
			peer.listing = tt.listing
			if tt.breakOnce != "" {
				peer.breakOnce[tt.breakOnce] = true
			}
			s, err := newStager(peer.stagingConfig(t, tt.token), hclog.NewNullLogger())
			if err != nil {
				t.Fatalf("newStager: %v", err)
			}
			dest := filepath.Join(t.TempDir(), tt.camera)

			result, err := s.stage(context.Background(), tt.camera, dest)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("stage error = %v, want one containing %q", err, tt.wantErr)
				}
				if _, statErr := os.Stat(filepath.Join(dest, "a.mp4")); statErr == nil {
					t.Errorf("a.mp4 exists after a failed staging")
				}
				return
			}
			if err != nil {
				t.Fatalf("stage: %v", err)
			}
			if result.Bytes != tt.wantBytes {
				t.Errorf("bytes = %d, want %d", result.Bytes, tt.wantBytes)
			}
			if result.Peer != peer.server.URL {
				t.Errorf("peer = %q, want %q", result.Peer, peer.server.URL)
			}
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(dest, name))
				if err != nil {
					t.Fatalf("read staged %s: %v", name, err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("staged %s differs from the peer's copy", name)
				}
			}
			peer.mu.Lock()
			ranges := peer.ranges
			peer.mu.Unlock()
			if tt.wantRange != "" && !containsString(ranges, tt.wantRange) {
				t.Errorf("range headers = %q, want one %q", ranges, tt.wantRange)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(dest, "*"+partialSuffix)); len(leftovers) != 0 {
				t.Errorf("partial files left: %v", leftovers)
			}
		})
	}
}

func TestStagingConfigRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		cfg  StagingConfig
		want string
	}{
		{"plain http peer", StagingConfig{Peers: []string{"http://127.0.0.1:4647"}, TokenFile: "/token"}, "staging.peers[0]"},
		{"peer with a path", StagingConfig{Peers: []string{"https://127.0.0.1:4647/v1"}, TokenFile: "/token"}, "staging.peers[0]"},
		{"missing token file", StagingConfig{Peers: []string{"https://127.0.0.1:4647"}}, "missing staging.token_file"},
		{"relative token file", StagingConfig{Peers: []string{"https://127.0.0.1:4647"}, TokenFile: "token"}, "staging.token_file"},
		{"relative CA file", StagingConfig{Peers: []string{"https://127.0.0.1:4647"}, TokenFile: "/token", CAFile: "ca.pem"}, "staging.ca_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStartTaskStagesCamera(t *testing.T) {
	env := newTestEnv(t)
	recording := bytes.Repeat([]byte("remote-frame "), 2048)
	peer := newRecordingPeer(t, map[string][]byte{"a.mp4": recording})
	staging := peer.stagingConfig(t, stagingToken)

	d := New(hclog.NewNullLogger())
	err := d.SetConfig(encodeCty(t, map[string]cty.Value{
		"endpoint":       cty.StringVal(env.docker.DaemonHost()),
		"camera_storage": cty.ListVal([]cty.Value{cty.StringVal(env.storage)}),
		"staging": cty.ObjectVal(map[string]cty.Value{
			"peers":      cty.ListVal([]cty.Value{cty.StringVal(peer.server.URL)}),
			"token_file": cty.StringVal(staging.TokenFile),
			"ca_file":    cty.StringVal(staging.CAFile),
		}),
	}), nil)
	if err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	d.logHooks.saved = env.logs.signal

	config := shellTask("wc -c < /recordings/remote-cam/a.mp4; touch /recordings/remote-cam/x 2>/dev/null && echo writable || echo read-only; ls /local | grep -q . && echo local-not-empty || echo local-empty")
	config["cameras"] = cty.ListVal([]cty.Value{cty.StringVal("remote-cam")})
	config["network_mode"] = cty.StringVal("none")
	task := env.newTask("staged", config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events, err := d.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}

	if _, _, err := d.StartTask(ctx, task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	defer d.DestroyTask(context.Background(), task.cfg.ID, true)
	if got := waitExit(t, d, task.cfg.ID).ExitCode; got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	task.stdout.waitFor(t, "read-only\nlocal-empty\n", 20*time.Second)
	if want := strconv.Itoa(len(recording)) + "\n"; !strings.Contains(task.stdout.String(), want) {
		t.Errorf("stdout = %q, want the staged size %q", task.stdout.String(), want)
	}

	want := "Staged camera remote-cam: copied " + strconv.Itoa(len(recording)) + " bytes of recordings from " + peer.server.URL + ", because this node stores none of them"
	select {
	case ev := <-events:
		if ev.Message != want {
			t.Errorf("event = %q, want %q", ev.Message, want)
		}
	case <-ctx.Done():
		t.Fatalf("no staging event")
	}
}
