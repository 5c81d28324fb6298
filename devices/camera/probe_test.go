package camera

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
)

// serveRTSPOnce listens on loopback and replies to one request with reply.
func serveRTSPOnce(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		_, _ = conn.Write([]byte(reply))
	}()
	return ln.Addr().String()
}

func TestProbeRTSPReplies(t *testing.T) {
	cases := []struct {
		name        string
		reply       string
		wantHealthy bool
		wantDesc    string
	}{
		{"ok", "RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", true, "200 OK"},
		{"login required", "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n", true, "login required"},
		{"not found", "RTSP/1.0 404 Not Found\r\nCSeq: 1\r\n\r\n", false, "returned 404 Not Found"},
		{"http server", "HTTP/1.1 400 Bad Request\r\n\r\n", false, "not an RTSP reply"},
		{"closed", "", false, "read status line"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := serveRTSPOnce(t, tc.reply)
			got := probeRTSP(context.Background(), addr, "rtsp://"+addr+"/live", 5*time.Second)
			if got.Healthy != tc.wantHealthy {
				t.Errorf("healthy = %v, want %v (%s)", got.Healthy, tc.wantHealthy, got.Description)
			}
			if !strings.Contains(got.Description, tc.wantDesc) {
				t.Errorf("description = %q, want it to contain %q", got.Description, tc.wantDesc)
			}
		})
	}
}

func TestProbeRTSPRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	got := probeRTSP(context.Background(), addr, "rtsp://"+addr+"/live", 5*time.Second)
	if got.Healthy {
		t.Fatalf("probe of a closed port is healthy: %+v", got)
	}
	if !strings.Contains(got.Description, "unreachable") {
		t.Errorf("description = %q, want it to say unreachable", got.Description)
	}
}

// startFFmpegListener runs ffmpeg as an RTSP server on a loopback port,
// waiting for a publisher. It replies to OPTIONS and exits when the probe's
// connection closes, and returns a channel closed at its exit.
func startFFmpegListener(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	url := fmt.Sprintf("rtsp://127.0.0.1:%d/live", port)
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-rtsp_flags", "listen", "-timeout", "30", "-i", url, "-f", "null", "-")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ffmpeg (install the ffmpeg package): %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitListening(t, port, exited)
	return url, exited
}

// waitListening waits until a socket listens on port, reading
// /proc/net/tcp so that no connection reaches the listener first.
func waitListening(t *testing.T, port int, exited <-chan struct{}) {
	t.Helper()
	want := fmt.Sprintf("0100007F:%04X", port)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 3 && fields[1] == want && fields[3] == "0A" {
				return
			}
		}
		select {
		case <-exited:
			t.Fatal("ffmpeg exited before listening")
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("ffmpeg did not listen on port %d within 10s", port)
}

// TestFingerprintStreamsHealthChange probes an ffmpeg RTSP listener, which
// replies once and exits, so the next period finds the camera down.
func TestFingerprintStreamsHealthChange(t *testing.T) {
	url, exited := startFFmpegListener(t)
	cfg := &Config{SysfsRoot: t.TempDir(), ProbeTimeout: "10s", IPCameras: []*IPCamera{
		{ID: "gate-1", Model: "axis-p1375", RTSPURL: url, Location: "5th-and-main", Resolution: "1920x1080", FPS: 25, Codec: "h264"},
	}}
	p := newTestPlugin(t, cfg)
	clk := p.clock.(*manualClock)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := p.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}

	first := receiveDevice(t, ch, "gate-1")
	if !first.Healthy {
		t.Fatalf("first fingerprint: gate-1 unhealthy (%s), want healthy from ffmpeg's OPTIONS reply", first.HealthDescription)
	}
	<-exited
	clk.tick()
	second := receiveDevice(t, ch, "gate-1")
	if second.Healthy {
		t.Fatalf("second fingerprint: gate-1 healthy, want unhealthy after the RTSP server exited")
	}
	if !strings.Contains(second.HealthDescription, "unreachable") {
		t.Errorf("health description = %q, want it to say unreachable", second.HealthDescription)
	}
}

func receiveDevice(t *testing.T, ch <-chan *plugins.DeviceFingerprint, id string) *plugins.DetectedDevice {
	t.Helper()
	fp, ok := <-ch
	if !ok {
		t.Fatal("fingerprint channel closed")
	}
	for _, g := range fp.Groups {
		for _, d := range g.Devices {
			if d.ID == id {
				return d
			}
		}
	}
	t.Fatalf("device %q not in fingerprint %+v", id, fp.Groups)
	return nil
}

func TestGroupsAttributes(t *testing.T) {
	storage := t.TempDir()
	writeRecording(t, storage, "gate-1")
	cfg := &Config{
		SysfsRoot:     t.TempDir(),
		CameraStorage: []string{storage},
		IPCameras: []*IPCamera{
			{ID: "gate-1", Model: "axis", RTSPURL: "rtsp://127.0.0.1/a", Location: "5th-and-main", Resolution: "1920x1080", FPS: 25, Codec: "h264"},
			{ID: "gate-2", Model: "axis", RTSPURL: "rtsp://127.0.0.1/b", Location: "5th-and-main", Resolution: "1920x1080", FPS: 25, Codec: "h264"},
			{ID: "lobby", Model: "hik", RTSPURL: "rtsp://127.0.0.1/c"},
		},
	}
	p := newTestPlugin(t, cfg)
	p.inventory = inventory.New(cfg.CameraStorage)
	p.probe = func(context.Context, string, string, time.Duration) probeResult {
		return probeResult{Healthy: true, Description: "ok"}
	}
	groups := buildGroups(p.scan(context.Background()))

	names := map[string]*plugins.DeviceGroup{}
	for _, g := range groups {
		if err := plugins.ValidateDeviceGroup(g); err != nil {
			t.Errorf("group %s invalid: %v", g.Name, err)
		}
		names[g.Name] = g
	}
	if len(groups) != 3 {
		t.Fatalf("groups = %d, want 3: gate-1 and gate-2 differ in recordings", len(groups))
	}
	hik, ok := names["hik"]
	if !ok {
		t.Fatalf("no group named hik in %v", names)
	}
	if got := hik.Attributes[attrRecordings]; got.Kind != plugins.AttributeBool || got.Bool {
		t.Errorf("hik recordings = %+v, want false", got)
	}

	var withRecordings *plugins.DeviceGroup
	for name, g := range names {
		if strings.HasPrefix(name, "axis-") && g.Attributes[attrRecordings].Bool {
			withRecordings = g
		}
	}
	if withRecordings == nil {
		t.Fatalf("no axis-<hash> group with recordings = true in %v", names)
	}
	if len(withRecordings.Devices) != 1 || withRecordings.Devices[0].ID != "gate-1" {
		t.Errorf("devices with recordings = %+v, want gate-1", withRecordings.Devices)
	}
	wantAttrs := map[string]plugins.Attribute{
		attrLocation:   plugins.StringAttribute("5th-and-main"),
		attrResolution: plugins.StringAttribute("1920x1080"),
		attrFPS:        plugins.IntAttribute(25, ""),
		attrCodec:      plugins.StringAttribute("h264"),
		attrRecordings: plugins.BoolAttribute(true),
		attrSource:     plugins.StringAttribute("rtsp"),
	}
	for k, want := range wantAttrs {
		if got := withRecordings.Attributes[k]; got != want {
			t.Errorf("attribute %s = %+v, want %+v", k, got, want)
		}
	}
}

// writeRecording copies the start of real footage into the camera's folder
// so that the inventory counts it as a recording.
func writeRecording(t *testing.T, root, camera string) {
	t.Helper()
	data, err := os.ReadFile("../../../shared/data/vtest.avi")
	if err != nil {
		// An AVI header is enough for the inventory's format check.
		data = append([]byte("RIFF\x00\x00\x00\x00AVI LIST"), make([]byte, 64)...)
	}
	if len(data) > 4096 {
		data = data[:4096]
	}
	mkdir(t, root+"/"+camera)
	writeFile(t, root+"/"+camera+"/0001.avi", string(data))
}
