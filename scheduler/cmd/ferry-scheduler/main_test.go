package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"apply"}, `unknown command "apply"`},
		{"plan without file", []string{"plan"}, "one job file"},
		{"bad output format", []string{"status", "-o", "yaml"}, `-o "yaml"`},
		{"zero resync", []string{"run", "-resync", "0s"}, "-resync 0s must be positive"},
		{"status extra argument", []string{"status", "jobs"}, `unexpected argument "jobs"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(tt.args, io.Discard)
			if err == nil {
				t.Fatalf("run(%q) succeeded, want an error", tt.args)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error %q, want it to contain %q", tt.args, err, tt.want)
			}
		})
	}
}

func TestReadJobJSON(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		wantID  string
		wantErr string
	}{
		{"wrapped", `{"Job": {"ID": "detect", "Meta": {"ferry.selector": "site=s1"}}}`, "detect", ""},
		{"bare", `{"ID": "detect"}`, "detect", ""},
		{"no id", `{"Name": "x"}`, "", "no job ID"},
		{"not json", `job "x" {}`, "", "decode job file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "job.json")
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			job, err := readJob(nil, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readJob error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("readJob: %v", err)
			}
			if got := ptrValue(job.ID); got != tt.wantID {
				t.Errorf("job ID %q, want %q", got, tt.wantID)
			}
		})
	}
}

func TestRunHelpPrintsUsage(t *testing.T) {
	for _, arg := range []string{"help", "-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var out strings.Builder
			if err := run([]string{arg}, &out); err != nil {
				t.Fatalf("run(%q): %v", arg, err)
			}
			if !strings.Contains(out.String(), "ferry-scheduler plan [flags] JOBFILE") {
				t.Errorf("output %q, want the usage", out.String())
			}
		})
	}
	if err := run([]string{"status", "-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(status -h) = %v, want flag.ErrHelp, which main exits on without an error", err)
	}
}

func TestParseInterspersedFlags(t *testing.T) {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	output := fs.String("o", "text", "")
	files, err := parseInterspersed(fs, []string{"job.hcl", "-o", "json"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if len(files) != 1 || files[0] != "job.hcl" {
		t.Errorf("positional arguments %q, want [job.hcl]", files)
	}
	if *output != "json" {
		t.Errorf("-o = %q, want json", *output)
	}
}

func TestNomadAddrScheme(t *testing.T) {
	cases := []struct{ addr, want string }{
		{"127.0.0.1:4646", "http://127.0.0.1:4646"},
		{"https://nomad.example:4646", "https://nomad.example:4646"},
	}
	for _, tc := range cases {
		t.Run(tc.addr, func(t *testing.T) {
			if got := withScheme(tc.addr); got != tc.want {
				t.Errorf("withScheme(%q) = %q, want %q", tc.addr, got, tc.want)
			}
		})
	}
}

func TestNomadConfigAddress(t *testing.T) {
	cases := []struct {
		name, flag, env, want string
	}{
		{"env without scheme", "", "127.0.0.1:4647", "http://127.0.0.1:4647"},
		{"env with scheme", "", "https://127.0.0.1:4647", "https://127.0.0.1:4647"},
		{"flag over env", "127.0.0.1:4648", "127.0.0.1:4647", "http://127.0.0.1:4648"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("NOMAD_ADDR", tc.env)
			c := clientFlags{nomadAddr: tc.flag}
			if got := c.nomadConfig().Address; got != tc.want {
				t.Errorf("address %q, want %q", got, tc.want)
			}
		})
	}
}
