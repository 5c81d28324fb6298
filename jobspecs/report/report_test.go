package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ferry-video/ferry/internal/consultest"
)

// motionNoRecordings is the motion program's exit code for a camera
// folder without recordings.
const motionNoRecordings = 3

// motionProcess is a running motion program with -listen.
type motionProcess struct {
	cmd     *exec.Cmd
	address string
	stdout  <-chan string
	stderr  <-chan string
}

// buildMotion builds the motion program into a temporary folder.
func buildMotion(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "motion")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/ferry-video/ferry/jobspecs/motion/cmd/motion")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build motion: %v\n%s", err, output)
	}
	return bin
}

// cameraFolder returns a folder named camera that contains real footage
// when withFootage is set, and nothing otherwise.
func cameraFolder(t *testing.T, camera string, withFootage bool) string {
	t.Helper()
	folder := filepath.Join(t.TempDir(), camera)
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if !withFootage {
		return folder
	}
	shared := filepath.Join("..", "..", "..", "shared", "data", "vtest.avi")
	if absolute, err := filepath.Abs(shared); err == nil {
		if _, err := os.Stat(absolute); err == nil {
			if err := os.Symlink(absolute, filepath.Join(folder, "vtest.avi")); err != nil {
				t.Fatal(err)
			}
			return folder
		}
	}
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc=duration=3:size=320x240:rate=10", "-c:v", "mpeg4", filepath.Join(folder, "testsrc.avi"))
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate footage with ffmpeg (install Debian's ffmpeg): %v\n%s", err, output)
	}
	return folder
}

func lines(r io.Reader) <-chan string {
	out := make(chan string)
	go func() {
		defer close(out)
		scanner := bufio.NewScanner(r)
		for scanner.Scan() {
			out <- scanner.Text()
		}
	}()
	return out
}

// nextLine returns the first line from lines that contains part, or fails
// when the stream ends first.
func nextLine(t *testing.T, lines <-chan string, part string) string {
	t.Helper()
	var seen []string
	for line := range lines {
		if strings.Contains(line, part) {
			return line
		}
		seen = append(seen, line)
	}
	t.Fatalf("output ended without a line containing %q; lines: %q", part, seen)
	return ""
}

// startMotion runs the motion program on folder, listening on a free
// loopback port, and stops it with SIGTERM when the test ends, expecting
// wantCode.
func startMotion(t *testing.T, bin, folder string, wantCode int) *motionProcess {
	t.Helper()
	return startMotionArgs(t, bin, wantCode, folder)
}

// startMotionArgs is startMotion with the program's arguments after
// -ffmpeg and -listen.
func startMotionArgs(t *testing.T, bin string, wantCode int, args ...string) *motionProcess {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatalf("ffmpeg not found in PATH: install Debian's ffmpeg")
	}
	cmd := exec.Command(bin, append([]string{"-ffmpeg", ffmpeg, "-listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start motion: %v", err)
	}
	p := &motionProcess{cmd: cmd, stdout: lines(stdout), stderr: lines(stderr)}
	t.Cleanup(func() { p.stop(t, wantCode) })

	serving := nextLine(t, p.stderr, "serving /health and /events on ")
	p.address = serving[strings.LastIndex(serving, " ")+1:]
	return p
}

func (p *motionProcess) stop(t *testing.T, wantCode int) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal motion: %v", err)
	}
	for range p.stdout {
	}
	for range p.stderr {
	}
	err := p.cmd.Wait()
	if code := p.cmd.ProcessState.ExitCode(); code != wantCode {
		t.Errorf("motion on %s exited with %v, want code %d", p.address, err, wantCode)
	}
}

func (p *motionProcess) port(t *testing.T) int {
	t.Helper()
	_, portText, _ := strings.Cut(p.address, ":")
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatalf("motion address %q has no port", p.address)
	}
	return port
}

func register(t *testing.T, client *api.Client, id string, tags []string, p *motionProcess) {
	t.Helper()
	registration := &api.AgentServiceRegistration{
		ID:      id,
		Name:    "motion-detect",
		Tags:    tags,
		Address: "127.0.0.1",
		Port:    p.port(t),
		Check: &api.AgentServiceCheck{
			Name:     "motion health",
			HTTP:     "http://" + p.address + "/health",
			Interval: "1s",
			// Consul syncs a check's output to the catalog at once only
			// when its status changes, so the check starts in a status
			// that both results change.
			Status:  api.HealthWarning,
			Timeout: "2s",
		},
	}
	if err := client.Agent().ServiceRegister(registration); err != nil {
		t.Fatalf("register %s: %v", id, err)
	}
}

// waitChecks blocks on Consul's health API until every check of the
// service has run once and has the expected status.
func waitChecks(t *testing.T, client *api.Client, want map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var index uint64
	var checks api.HealthChecks
	for {
		options := (&api.QueryOptions{WaitIndex: index}).WithContext(ctx)
		latest, meta, err := client.Health().Checks("motion-detect", options)
		if err != nil {
			t.Fatalf("read checks: %v; last checks:\n%s", err, describeChecks(checks))
		}
		checks = latest
		index = meta.LastIndex
		settled := 0
		for _, check := range checks {
			if status, ok := want[check.ServiceID]; ok && check.Status == status && check.Output != "" {
				settled++
			}
		}
		if settled == len(want) {
			return
		}
	}
}

func describeChecks(checks api.HealthChecks) string {
	var lines []string
	for _, check := range checks {
		lines = append(lines, fmt.Sprintf("%s %s: %s", check.ServiceID, check.Status, check.Output))
	}
	return strings.Join(lines, "\n")
}

func TestReportAgainstConsul(t *testing.T) {
	agent := consultest.Start(t)
	client, consulAddr := agent.Client(t), agent.HTTPAddr
	bin := buildMotion(t)

	healthy := startMotion(t, bin, cameraFolder(t, "north-gate", true), exitOK)
	total := nextLine(t, healthy.stdout, "motion_events ")
	wantEvents, err := strconv.Atoi(strings.TrimPrefix(total, "motion_events "))
	if err != nil {
		t.Fatalf("motion total line %q: %v", total, err)
	}
	failing := startMotion(t, bin, cameraFolder(t, "south-gate", false), motionNoRecordings)
	nextLine(t, failing.stderr, "no recordings")
	other := startMotion(t, bin, cameraFolder(t, "west-gate", false), motionNoRecordings)

	register(t, client, "motion-north", []string{"camera:north-gate", "site:downtown", "node:edge-1"}, healthy)
	register(t, client, "motion-south", []string{"camera:south-gate", "site:downtown", "node:edge-2"}, failing)
	register(t, client, "motion-west", []string{"camera:west-gate", "site:uptown", "node:edge-3"}, other)
	waitChecks(t, client, map[string]string{
		"motion-north": api.HealthPassing,
		"motion-south": api.HealthCritical,
		"motion-west":  api.HealthCritical,
	})

	output := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	args := []string{"-consul-addr", consulAddr, "-tag", "site:downtown", "-expect", "north-gate,south-gate,east-gate", "-o", output}
	if code := run(context.Background(), args, &stdout, &stderr); code != exitMissing {
		t.Errorf("exit code %d, want %d; stderr: %s", code, exitMissing, stderr.String())
	}
	data, err := os.ReadFile(output)
	if err != nil {
		t.Fatalf("read report: %v", err)
	}
	var report Report
	if err := json.Unmarshal(data, &report); err != nil {
		t.Fatalf("decode report: %v\n%s", err, data)
	}

	if len(report.Cameras) != 1 {
		t.Fatalf("report has %d cameras, want north-gate only:\n%s", len(report.Cameras), data)
	}
	north := report.Cameras[0]
	if north.Camera != "north-gate" || north.Node != "edge-1" || !north.Done {
		t.Errorf("camera entry = %s/%s done=%t, want north-gate/edge-1 done=true", north.Camera, north.Node, north.Done)
	}
	if len(north.Events) != wantEvents {
		t.Errorf("north-gate has %d events, want %d as the program printed", len(north.Events), wantEvents)
	}

	wantMissing := []struct{ camera, reason string }{
		{"east-gate", `no instance of service "motion-detect" with tag "camera:east-gate"`},
		{"south-gate", "503"},
		{"south-gate", "no recordings"},
	}
	missing := make(map[string]string)
	for _, m := range report.Missing {
		missing[m.Camera] = m.Reason
	}
	if len(report.Missing) != 2 {
		t.Errorf("report has %d missing cameras, want east-gate and south-gate:\n%s", len(report.Missing), data)
	}
	for _, want := range wantMissing {
		if !strings.Contains(missing[want.camera], want.reason) {
			t.Errorf("missing reason of %s = %q, want it to contain %q", want.camera, missing[want.camera], want.reason)
		}
	}
	if strings.Contains(string(data), "west-gate") {
		t.Errorf("report contains west-gate, which lacks the site:downtown tag:\n%s", data)
	}
}

func TestReportRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"empty camera", []string{"-expect", "north-gate,,south-gate"}, `invalid -expect "north-gate,,south-gate"`},
		{"zero timeout", []string{"-timeout", "0s"}, "invalid -timeout 0s"},
		{"extra argument", []string{"now"}, `unexpected argument "now"`},
		{"consul down", []string{"-consul-addr", "127.0.0.1:1", "-timeout", "5s"}, "check that a Consul agent is reachable at 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != exitFailure {
				t.Errorf("exit code %d, want %d", code, exitFailure)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want no report", stdout.String())
			}
		})
	}
}
