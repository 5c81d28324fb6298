package video

import (
	"testing"

	"github.com/ferry-video/ferry/plugins"
)

func TestContainerNameFromNomadTaskID(t *testing.T) {
	cases := []struct {
		name string
		cfg  plugins.TaskConfig
		want string
	}{
		{
			name: "nomad task id",
			cfg:  plugins.TaskConfig{ID: "5e1f0c2a-7d1b-4b8e-9c3f-1a2b3c4d5e6f/motion/0a1b2c3d", Name: "motion", AllocID: "5e1f0c2a-7d1b-4b8e-9c3f-1a2b3c4d5e6f"},
			want: "motion-5e1f0c2a-7d1b-4b8e-9c3f-1a2b3c4d5e6f-0a1b2c3d",
		},
		{
			name: "task name with spaces and slash",
			cfg:  plugins.TaskConfig{ID: "a1/report v2/ff00ff00", Name: "report v2/x", AllocID: "a1"},
			want: "report-v2-x-a1-ff00ff00",
		},
		{
			name: "leading dot in task name",
			cfg:  plugins.TaskConfig{ID: "a1/.hidden/01", Name: ".hidden", AllocID: "a1"},
			want: "hidden-a1-01",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := containerName(&tc.cfg); got != tc.want {
				t.Errorf("containerName = %q, want %q", got, tc.want)
			}
		})
	}
}
