package plugins

import (
	"context"
	"time"

	"github.com/ferry-video/ferry/plugins/hclspec"
	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// DriverClient calls a plugin's Driver service the way a Nomad client
// does, converting to and from the Go types of this package. go-plugin
// returns it from Dispense(PluginSetDriver).
type DriverClient struct {
	client driverpb.DriverClient
}

// Proto returns the underlying generated client, for checks of the wire
// messages themselves.
func (c *DriverClient) Proto() driverpb.DriverClient { return c.client }

// Init calls the Init RPC that Nomad 2.0.4 and later send after a launch.
func (c *DriverClient) Init(ctx context.Context) error {
	_, err := c.client.Init(ctx, &driverpb.InitRequest{})
	return err
}

// Shutdown calls the Shutdown RPC that Nomad 2.0.4 and later send before
// killing the plugin.
func (c *DriverClient) Shutdown(ctx context.Context) error {
	_, err := c.client.Shutdown(ctx, &driverpb.ShutdownRequest{})
	return err
}

// TaskConfigSchema returns the schema of a task's config block.
func (c *DriverClient) TaskConfigSchema(ctx context.Context) (*hclspec.Spec, error) {
	resp, err := c.client.TaskConfigSchema(ctx, &driverpb.TaskConfigSchemaRequest{})
	if err != nil {
		return nil, err
	}
	return specFromProto(resp.GetSpec()), nil
}

// Capabilities returns the driver's capabilities.
func (c *DriverClient) Capabilities(ctx context.Context) (Capabilities, error) {
	resp, err := c.client.Capabilities(ctx, &driverpb.CapabilitiesRequest{})
	if err != nil {
		return Capabilities{}, err
	}
	return capabilitiesFromProto(resp.GetCapabilities()), nil
}

// Fingerprint opens the fingerprint stream; it ends when ctx is done.
func (c *DriverClient) Fingerprint(ctx context.Context) (*ClientStream[*Fingerprint], error) {
	stream, err := c.client.Fingerprint(ctx, &driverpb.FingerprintRequest{})
	if err != nil {
		return nil, err
	}
	return &ClientStream[*Fingerprint]{recv: func() (*Fingerprint, error) {
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		return fingerprintFromProto(resp), nil
	}}, nil
}

// StartTask starts a task. A recoverable error is a gRPC status error for
// which IsRecoverable reports true.
func (c *DriverClient) StartTask(ctx context.Context, cfg *TaskConfig) (*TaskHandle, *NetworkOverride, error) {
	resp, err := c.client.StartTask(ctx, &driverpb.StartTaskRequest{Task: taskConfigToProto(cfg)})
	if err != nil {
		return nil, nil, err
	}
	return taskHandleFromProto(resp.GetHandle()), networkOverrideFromProto(resp.GetNetworkOverride()), nil
}

// RecoverTask sends a stored handle the way Nomad does: with task_id unset,
// so the plugin must read the ID from the handle's config.
func (c *DriverClient) RecoverTask(ctx context.Context, handle *TaskHandle) error {
	_, err := c.client.RecoverTask(ctx, &driverpb.RecoverTaskRequest{Handle: taskHandleToProto(handle)})
	return err
}

// WaitTask blocks until the task exits or ctx is done.
func (c *DriverClient) WaitTask(ctx context.Context, taskID string) (*ExitResult, error) {
	resp, err := c.client.WaitTask(ctx, &driverpb.WaitTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, err
	}
	return exitResultFromProto(resp.GetResult(), resp.GetErr()), nil
}

// StopTask sends signal, waits up to timeout, then has the task killed.
func (c *DriverClient) StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error {
	req := &driverpb.StopTaskRequest{TaskId: taskID, Timeout: durationToProto(timeout), Signal: signal}
	_, err := c.client.StopTask(ctx, req)
	return err
}

// DestroyTask removes a task from the driver.
func (c *DriverClient) DestroyTask(ctx context.Context, taskID string, force bool) error {
	_, err := c.client.DestroyTask(ctx, &driverpb.DestroyTaskRequest{TaskId: taskID, Force: force})
	return err
}

// InspectTask returns a task's status.
func (c *DriverClient) InspectTask(ctx context.Context, taskID string) (*TaskStatus, error) {
	resp, err := c.client.InspectTask(ctx, &driverpb.InspectTaskRequest{TaskId: taskID})
	if err != nil {
		return nil, err
	}
	return taskStatusFromProto(resp), nil
}

// TaskStats opens a task's stats stream with the given interval.
func (c *DriverClient) TaskStats(ctx context.Context, taskID string, interval time.Duration) (*ClientStream[*TaskResourceUsage], error) {
	req := &driverpb.TaskStatsRequest{TaskId: taskID, CollectionInterval: durationToProto(interval)}
	stream, err := c.client.TaskStats(ctx, req)
	if err != nil {
		return nil, err
	}
	return &ClientStream[*TaskResourceUsage]{recv: func() (*TaskResourceUsage, error) {
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		return taskStatsFromProto(resp.GetStats()), nil
	}}, nil
}

// TaskEvents opens the plugin's event stream for all tasks.
func (c *DriverClient) TaskEvents(ctx context.Context) (*ClientStream[*TaskEvent], error) {
	stream, err := c.client.TaskEvents(ctx, &driverpb.TaskEventsRequest{})
	if err != nil {
		return nil, err
	}
	return &ClientStream[*TaskEvent]{recv: func() (*TaskEvent, error) {
		resp, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		return taskEventFromProto(resp), nil
	}}, nil
}

// SignalTask sends a signal, given by name such as "SIGHUP", to a task.
func (c *DriverClient) SignalTask(ctx context.Context, taskID, signal string) error {
	_, err := c.client.SignalTask(ctx, &driverpb.SignalTaskRequest{TaskId: taskID, Signal: signal})
	return err
}

// ExecTask runs cmd in the task and returns its output and exit result.
func (c *DriverClient) ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*ExecResult, error) {
	req := &driverpb.ExecTaskRequest{TaskId: taskID, Command: cmd, Timeout: durationToProto(timeout)}
	resp, err := c.client.ExecTask(ctx, req)
	if err != nil {
		return nil, err
	}
	return &ExecResult{
		Stdout: resp.GetStdout(),
		Stderr: resp.GetStderr(),
		Exit:   *exitResultFromProto(resp.GetResult(), ""),
	}, nil
}
