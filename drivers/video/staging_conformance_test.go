package video_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

func TestConformanceStagingConfig(t *testing.T) {
	tests := []struct {
		name string
		hcl  string
		want string
	}{
		{"accepted", `staging {
  peers      = ["https://127.0.0.1:4647"]
  token_file = "/etc/ferry/staging-token"
  ca_file    = "/etc/ferry/ca.pem"
}
`, ""},
		{"plain http peer", `staging {
  peers      = ["http://127.0.0.1:4647"]
  token_file = "/etc/ferry/staging-token"
}
`, "staging.peers[0]"},
		{"missing token file", `staging {
  peers = ["https://127.0.0.1:4647"]
}
`, "missing staging.token_file"},
	}
	p := launchVideo(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := append(agentHCL(), tt.hcl...)
			err := p.SetConfigHCL(testContext(t, 30*time.Second), config, "agent.hcl", &plugins.AgentConfig{})
			if tt.want == "" {
				if err != nil {
					t.Errorf("SetConfigHCL: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("SetConfigHCL error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
