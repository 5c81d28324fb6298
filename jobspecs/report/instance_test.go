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

// registerInCatalog registers a service with an HTTP check, critical and
// without output, on a node that no agent runs, as the catalog holds an
// instance whose agent has not sent the check's output yet.
func registerInCatalog(t *testing.T, client *api.Client, node, service string, tags []string, healthURL string) {
	t.Helper()
	registration := &api.CatalogRegistration{
		Node:    node,
		Address: "127.0.0.1",
		Service: &api.AgentService{ID: service + "-1", Service: service, Tags: tags, Address: "127.0.0.1", Port: 1},
	}
	if healthURL != "" {
		registration.Checks = api.HealthChecks{{
			Node: node, CheckID: service + "-health", Name: "motion health", Status: api.HealthCritical,
			ServiceID: service + "-1", Definition: api.HealthCheckDefinition{HTTP: healthURL},
		}}
	}
	if _, err := client.Catalog().Register(registration, nil); err != nil {
		t.Fatalf("register %s in the catalog: %v", service, err)
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
	registerInCatalog(t, client, "edge-9", "motion-remote", []string{"camera:west-gate"}, healthURL)
	registerInCatalog(t, client, "edge-9", "motion-twice", []string{"camera:a", "camera:b\nc"}, "")

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
			map[string][]string{"east-gate": {"Consul node ", "waiting", "no frame received yet"}}, nil},
		{"check output from probe", "motion-remote", exitMissing,
			map[string][]string{"west-gate": {`Consul node "edge-9"`, "503 Service Unavailable", "waiting"}}, nil},
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
