package service

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"
)

func TestPassReportsMissingTemplateJob(t *testing.T) {
	cases := []struct {
		name        string
		change      func(c *fakeCluster)
		wantMissing bool
	}{
		{"garbage-collected", func(c *fakeCluster) { delete(c.jobs, "detect") }, true},
		{"stopped", func(c *fakeCluster) { c.jobs["detect"].Stop = pointer(true) }, false},
		{"unchanged", func(c *fakeCluster) {}, false},
	}
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster := newFakeCluster("n1")
			job := templateJob(nil)
			job.Type = pointer(api.JobTypeBatch)
			cluster.jobs["detect"] = job
			clock := newFakeClock()
			s := New(Config{}, nil, cluster, clock, hclog.NewNullLogger())
			if err := s.Pass(context.Background(), cat); err != nil {
				t.Fatalf("first Pass: %v", err)
			}
			tc.change(cluster)
			clock.now = clock.now.Add(time.Minute)
			if err := s.Pass(context.Background(), cat); err != nil {
				t.Fatalf("second Pass: %v", err)
			}

			missing := s.Status().MissingJobs
			if got := len(missing) == 1; got != tc.wantMissing {
				t.Fatalf("missing jobs %+v, want missing %v", missing, tc.wantMissing)
			}
			if !tc.wantMissing {
				return
			}
			if missing[0].Job != "detect" {
				t.Errorf("missing job %q, want detect", missing[0].Job)
			}
			if !missing[0].Since.Equal(clock.now) {
				t.Errorf("missing since %v, want %v", missing[0].Since, clock.now)
			}
			if !strings.Contains(missing[0].Detail, "Submit the template job again") {
				t.Errorf("detail %q does not say to submit the template job again", missing[0].Detail)
			}

			cluster.jobs["detect"] = templateJob(nil)
			if err := s.Pass(context.Background(), cat); err != nil {
				t.Fatalf("third Pass: %v", err)
			}
			if got := s.Status().MissingJobs; len(got) != 0 {
				t.Errorf("missing jobs %+v after the job was submitted again, want none", got)
			}
		})
	}
}

func TestPassKeepsBatchTemplateOnce(t *testing.T) {
	cases := []struct {
		name      string
		jobType   string
		wantCalls int
	}{
		{"batch", api.JobTypeBatch, 1},
		{"service", api.JobTypeService, 0},
	}
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cluster := newFakeCluster("n1")
			job := templateJob(nil)
			job.Type = pointer(tc.jobType)
			cluster.jobs["detect"] = job
			s := New(Config{}, nil, cluster, newFakeClock(), hclog.NewNullLogger())
			for range 3 {
				if err := s.Pass(context.Background(), cat); err != nil {
					t.Fatalf("Pass: %v", err)
				}
			}
			if got := cluster.tagged["detect"]; got != tc.wantCalls {
				t.Errorf("KeepJob called %d times, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestKeepFailureLoggedOnce(t *testing.T) {
	cluster := newFakeCluster("n1")
	job := templateJob(nil)
	job.Type = pointer(api.JobTypeBatch)
	cluster.jobs["detect"] = job
	cluster.keepErr = errors.New("Permission denied")
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})
	s := New(Config{}, nil, cluster, newFakeClock(), log)
	cat := holdings(map[string][]string{"n1": {"cam-a"}})
	for range 3 {
		if err := s.Pass(context.Background(), cat); err != nil {
			t.Fatalf("Pass: %v", err)
		}
	}
	if n := strings.Count(logs.String(), "failed to tag a version"); n != 1 {
		t.Errorf("tag failure logged %d times over 3 passes, want 1:\n%s", n, logs.String())
	}
}
