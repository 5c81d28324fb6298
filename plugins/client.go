package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ferry-video/ferry/plugins/hclspec"
	basepb "github.com/ferry-video/ferry/plugins/proto/base"
	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
	structspb "github.com/ferry-video/ferry/plugins/proto/structs"
)

// BaseClient calls a plugin's BasePlugin service the way a Nomad client
// does. go-plugin returns it from Dispense(PluginSetBase).
type BaseClient struct {
	client basepb.BasePluginClient
}

// PluginInfo returns the plugin's identity and the API versions it
// supports.
func (c *BaseClient) PluginInfo(ctx context.Context) (Info, []string, error) {
	resp, err := c.client.PluginInfo(ctx, &basepb.PluginInfoRequest{})
	if err != nil {
		return Info{}, nil, err
	}
	info := Info{Type: PluginType(resp.GetType()), Name: resp.GetName(), Version: resp.GetPluginVersion()}
	return info, resp.GetPluginApiVersions(), nil
}

// ConfigSchema returns the schema of the plugin's agent config, or nil
// when the plugin takes no config.
func (c *BaseClient) ConfigSchema(ctx context.Context) (*hclspec.Spec, error) {
	resp, err := c.client.ConfigSchema(ctx, &basepb.ConfigSchemaRequest{})
	if err != nil {
		return nil, err
	}
	return specFromProto(resp.GetSpec()), nil
}

// SetConfig sends the agent config as cty msgpack. A nil agent is what
// Nomad sends in its validation run.
func (c *BaseClient) SetConfig(ctx context.Context, msgpack []byte, agent *AgentConfig) error {
	req := &basepb.SetConfigRequest{MsgpackConfig: msgpack, PluginApiVersion: APIVersion}
	if agent != nil {
		req.NomadConfig = &basepb.NomadConfig{Driver: &basepb.NomadDriverConfig{
			ClientMinPort: agent.ClientMinPort,
			ClientMaxPort: agent.ClientMaxPort,
		}}
	}
	_, err := c.client.SetConfig(ctx, req)
	return err
}

// IsRecoverable reports whether err is a gRPC status whose first detail is
// a RecoverableError with recoverable set, which is the only check Nomad
// makes before applying a task's restart policy.
func IsRecoverable(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	details := st.Details()
	if len(details) == 0 {
		return false
	}
	detail, ok := details[0].(*structspb.RecoverableError)
	return ok && detail.GetRecoverable()
}

// ClientStream is the receiving end of a server stream.
type ClientStream[T any] struct {
	recv func() (T, error)
}

// Recv returns the next message, or io.EOF when the plugin ended the
// stream cleanly.
func (s *ClientStream[T]) Recv() (T, error) { return s.recv() }

// ExecTaskStreaming sends the exec setup, then relays opts.Stdin and opts.Resize
// to the plugin and the output to opts.Stdout and opts.Stderr, closing
// each writer at its end-of-stream message. It returns the exit result.
func (c *DriverClient) ExecTaskStreaming(ctx context.Context, taskID string, opts *ExecOptions) (*ExitResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stream, err := c.client.ExecTaskStreaming(ctx)
	if err != nil {
		return nil, err
	}
	setup := &driverpb.ExecTaskStreamingRequest_Setup{TaskId: taskID, Command: opts.Command, Tty: opts.TTY}
	if err := stream.Send(&driverpb.ExecTaskStreamingRequest{Setup: setup}); err != nil {
		return nil, err
	}
	go sendExecInput(ctx, stream, opts)

	for {
		resp, err := stream.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("exec stream ended without an exit result")
			}
			return nil, err
		}
		if err := writeExecOutput(resp.GetStdout(), opts.Stdout); err != nil {
			return nil, fmt.Errorf("write exec stdout: %w", err)
		}
		if err := writeExecOutput(resp.GetStderr(), opts.Stderr); err != nil {
			return nil, fmt.Errorf("write exec stderr: %w", err)
		}
		if resp.GetExited() {
			return exitResultFromProto(resp.GetResult(), ""), nil
		}
	}
}

func writeExecOutput(op *driverpb.ExecTaskStreamingIOOperation, w io.WriteCloser) error {
	if op == nil || w == nil {
		return nil
	}
	if len(op.GetData()) > 0 {
		if _, err := w.Write(op.GetData()); err != nil {
			return err
		}
	}
	if op.GetClose() {
		return w.Close()
	}
	return nil
}

// sendExecInput relays terminal sizes and stdin, then sends the end of
// stdin. Send and CloseSend errors end it silently because the receive
// side reports the stream's failure.
func sendExecInput(ctx context.Context, stream driverpb.Driver_ExecTaskStreamingClient, opts *ExecOptions) {
	inputs := make(chan []byte)
	if opts.Stdin != nil {
		go readExecStdin(ctx, opts.Stdin, inputs)
	} else {
		close(inputs)
	}

	resize := opts.Resize
	for {
		var req *driverpb.ExecTaskStreamingRequest
		select {
		case <-ctx.Done():
			return
		case size, ok := <-resize:
			if !ok {
				resize = nil
				continue
			}
			req = &driverpb.ExecTaskStreamingRequest{TtySize: &driverpb.ExecTaskStreamingRequest_TerminalSize{
				Height: int32(size.Height), Width: int32(size.Width),
			}}
		case data, ok := <-inputs:
			op := &driverpb.ExecTaskStreamingIOOperation{Data: data, Close: !ok}
			req = &driverpb.ExecTaskStreamingRequest{Stdin: op}
			if !ok {
				inputs = nil
			}
		}
		if err := stream.Send(req); err != nil {
			return
		}
	}
}

func readExecStdin(ctx context.Context, stdin io.Reader, out chan<- []byte) {
	defer close(out)
	buf := make([]byte, 32*1024)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			select {
			case out <- chunk:
			case <-ctx.Done():
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func durationToProto(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
