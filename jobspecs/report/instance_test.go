package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ferry-video/ferry/internal/consultest"
)

// runReport runs the command against consulAddr for service and returns
// its exit code, the decoded report and stderr.
func runReport(t *testing.T, consulAddr, service string) (int, Report, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-consul-addr", consulAddr, "-service", service, "-timeout", "10s"}, &stdout, &stderr)
	var report Report
	if err := json.Unmarshal(stdout.Bytes(), &report); err != nil {
		t.Fatalf("decode report: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return code, report, stderr.String()
}

// catalogInstance is a service instance registered in the catalog on a
// node that no agent runs, as the catalog holds an instance whose agent has
// not sent its check's output yet.
type catalogInstance struct {
	node, service string
	tags          []string
	port          int
	// checked adds a critical check without output, with healthURL as
	// its HTTP URL when set.
	checked   bool
	healthURL string
}

func registerInCatalog(t *testing.T, client *api.Client, inst catalogInstance) {
	t.Helper()
	id := inst.service + "-1"
	registration := &api.CatalogRegistration{
		Node:    inst.node,
		Address: "127.0.0.1",
		Service: &api.AgentService{ID: id, Service: inst.service, Tags: inst.tags, Address: "127.0.0.1", Port: inst.port},
	}
	if inst.checked {
		registration.Checks = api.HealthChecks{{
			Node: inst.node, CheckID: id + "-health", Name: "motion health", Status: api.HealthCritical,
			ServiceID: id, Definition: api.HealthCheckDefinition{HTTP: inst.healthURL},
		}}
	}
	if _, err := client.Catalog().Register(registration, nil); err != nil {
		t.Fatalf("register %s in the catalog: %v", inst.service, err)
	}
}

// freeRTSPURL returns an rtsp:// URL on a free loopback port.
func freeRTSPURL(t *testing.T, camera string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("rtsp://%s/%s", l.Addr(), camera)
}

// waitAgentOutput polls the agent until its check has output.
func waitAgentOutput(t *testing.T, client *api.Client, checkID string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	poll := time.NewTicker(200 * time.Millisecond)
	defer poll.Stop()
	for range poll.C {
		checks, err := client.Agent().Checks()
		if err != nil {
			t.Fatalf("agent checks: %v", err)
		}
		if check, ok := checks[checkID]; ok && check.Output != "" {
			return check.Output
		}
		if time.Now().After(deadline) {
			t.Fatalf("check %s has no output on the agent after 60s", checkID)
		}
	}
	return ""
}

func TestReportInstanceProblems(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)
	bin := buildMotion(t)
	waiting := startMotionArgs(t, bin, exitOK, "-stream", freeRTSPURL(t, "east-gate"), "-stream-listen", "/recordings/east-gate")
	healthURL := "http://" + waiting.address + "/health"

	registration := &api.AgentServiceRegistration{
		ID: "stream-east", Name: "motion-stream", Tags: []string{"camera:east-gate"},
		Address: "127.0.0.1", Port: waiting.port(t),
		// The check is critical from its start, so the agent does not send
		// its output to the catalog for check_update_interval.
		Check: &api.AgentServiceCheck{CheckID: "stream-east-health", Name: "motion health", HTTP: healthURL, Interval: "1s", Timeout: "2s"},
	}
	if err := client.Agent().ServiceRegister(registration); err != nil {
		t.Fatalf("register stream-east: %v", err)
	}
	waitAgentOutput(t, client, "stream-east-health")
	registerInCatalog(t, client, catalogInstance{node: "edge-9", service: "motion-remote", tags: []string{"camera:west-gate"}, port: 1, checked: true, healthURL: healthURL})
	registerInCatalog(t, client, catalogInstance{node: "edge-8", service: "motion-bare", tags: []string{"camera:south-gate"}, port: waiting.port(t), checked: true})
	registerInCatalog(t, client, catalogInstance{node: "edge-9", service: "motion-twice", tags: []string{"camera:a", "camera:b\nc"}, port: 1})

	tests := []struct {
		name    string
		service string
		code    int
		missing map[string][]string
		stderr  []string
	}{
		{"service not found", "motion-nope", exitMissing, nil,
			[]string{`no instance of service "motion-nope"`, agent.HTTPAddr}},
		{"check output from agent", "motion-stream", exitMissing,
			map[string][]string{"east-gate": {"Consul node ", "waiting", "no frame received yet", "output from the Consul agent"}}, nil},
		{"check output from probe", "motion-remote", exitMissing,
			map[string][]string{"west-gate": {`Consul node "edge-9"`, "503 Service Unavailable", "waiting"}}, nil},
		{"check output from instance health", "motion-bare", exitMissing,
			map[string][]string{"south-gate": {`Consul node "edge-8"`, "/health returned 503 Service Unavailable", "waiting"}}, nil},
		{"several camera tags", "motion-twice", exitMissing,
			map[string][]string{
				"a":    {"misconfigured", `"camera:a", "camera:b\nc"`},
				"b\nc": {"misconfigured", `"camera:a", "camera:b\nc"`},
			}, []string{`camera "b\nc" missing`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, report, stderr := runReport(t, agent.HTTPAddr, tt.service)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if len(report.Missing) != len(tt.missing) {
				t.Errorf("report has %d missing cameras, want %d: %+v", len(report.Missing), len(tt.missing), report.Missing)
			}
			for _, m := range report.Missing {
				for _, part := range tt.missing[m.Camera] {
					if !strings.Contains(m.Reason, part) {
						t.Errorf("reason of %q = %q, want it to contain %q", m.Camera, m.Reason, part)
					}
				}
			}
			for _, part := range tt.stderr {
				if !strings.Contains(stderr, part) {
					t.Errorf("stderr %q does not contain %q", stderr, part)
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if !strings.HasPrefix(line, "report: ") {
					t.Errorf("stderr line %q does not start with \"report: \"", line)
				}
			}
		})
	}
}
