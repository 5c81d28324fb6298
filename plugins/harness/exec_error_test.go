package harness

import (
	"errors"
	"io"
	"strings"
	"testing"

	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// Nomad's client returns the exec stream's status to the CLI, which prints
// it after "failed to exec into task:". Nomad's HTTP agent drops a status
// longer than a websocket close reason (123 bytes), so the reason must
// also arrive on standard error.
func TestExecTaskStreamingErrorReachesClient(t *testing.T) {
	ctx := testContext(t)
	p := launch(t)
	_, cfg, _ := startTask(t, p, "command = \"/bin/sh\"\nargs = [\"-c\", \"exec sleep 1000\"]\n")
	tests := []struct {
		name    string
		taskID  string
		command []string
		want    string
	}{
		{"unknown task", "no-such-task", []string{"/bin/true"}, "task not found"},
		{"empty command", cfg.ID, nil, "exec command is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream, err := p.Driver.Proto().ExecTaskStreaming(ctx)
			if err != nil {
				t.Fatalf("ExecTaskStreaming: %v", err)
			}
			setup := &driverpb.ExecTaskStreamingRequest_Setup{TaskId: tt.taskID, Command: tt.command}
			if err := stream.Send(&driverpb.ExecTaskStreamingRequest{Setup: setup}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			var recvErr error
			var stderr []byte
			for recvErr == nil {
				var resp *driverpb.ExecTaskStreamingResponse
				resp, recvErr = stream.Recv()
				if resp.GetExited() {
					t.Fatalf("got exit %v, want an error", resp.GetResult())
				}
				stderr = append(stderr, resp.GetStderr().GetData()...)
			}
			if !strings.Contains(string(stderr), "exec failed: "+tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if errors.Is(recvErr, io.EOF) {
				t.Fatalf("stream ended without an error, want %q", tt.want)
			}
			if !strings.Contains(recvErr.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", recvErr, tt.want)
			}
		})
	}
}
