package plugins

import (
	"os"
	"reflect"
	"testing"
)

// TestDecodeNomadPayloads decodes config msgpack captured from a real
// Nomad v2.0.6-dev client; testdata/README.md describes the inputs.
func TestDecodeNomadPayloads(t *testing.T) {
	type agentConfig struct {
		Shell string `codec:"shell"`
	}
	type taskConfig struct {
		Command    string   `codec:"command"`
		Args       []string `codec:"args"`
		StartError *string  `codec:"start_error"`
	}
	tests := []struct {
		name string
		file string
		out  any
		want any
	}{
		{"SetConfig", "testdata/nomad-2.0.6-dev-setconfig.msgpack", &agentConfig{}, &agentConfig{Shell: "/bin/bash"}},
		{"StartTask", "testdata/nomad-2.0.6-dev-starttask.msgpack", &taskConfig{},
			&taskConfig{Command: "/bin/echo", Args: []string{"hello", "world"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatalf("read payload: %v", err)
			}
			if err := DecodeConfig(data, tt.out); err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if !reflect.DeepEqual(tt.out, tt.want) {
				t.Errorf("decoded %+v, want %+v", tt.out, tt.want)
			}
		})
	}
}
