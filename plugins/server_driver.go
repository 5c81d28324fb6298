package plugins

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-hclog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
	structspb "github.com/ferry-video/ferry/plugins/proto/structs"
)

// defaultStatsInterval is used when a TaskStats request has no interval;
// it is the default of Nomad's telemetry collection_interval.
const defaultStatsInterval = time.Second

// driverServer serves the Driver service by calling a Driver.
type driverServer struct {
	driverpb.UnimplementedDriverServer
	// serveCtx ends every stream when the plugin stops serving.
	serveCtx context.Context
	impl     Driver
	logger   hclog.Logger
}

// streamContext returns a context that ends with the stream or when the
// plugin stops serving, whichever comes first.
func (s *driverServer) streamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.serveCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// toStatus converts a driver error to a gRPC status error. A
// RecoverableError becomes FailedPrecondition with a RecoverableError
// detail, which is what Nomad reads to apply the restart policy.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	var recoverable *RecoverableError
	if !errors.As(err, &recoverable) {
		return err
	}
	st, detailErr := status.New(codes.FailedPrecondition, err.Error()).
		WithDetails(&structspb.RecoverableError{Recoverable: true})
	if detailErr != nil {
		return err
	}
	return st.Err()
}

func (s *driverServer) Init(context.Context, *driverpb.InitRequest) (*driverpb.InitResponse, error) {
	return &driverpb.InitResponse{}, nil
}

func (s *driverServer) Shutdown(ctx context.Context, _ *driverpb.ShutdownRequest) (*driverpb.ShutdownResponse, error) {
	shutdowner, ok := s.impl.(Shutdowner)
	if !ok {
		return nil, status.Error(codes.Unimplemented, "driver does not implement Shutdown")
	}
	if err := shutdowner.Shutdown(ctx); err != nil {
		s.logger.Error("failed to shut down driver", "error", err)
		return nil, err
	}
	return &driverpb.ShutdownResponse{}, nil
}

func (s *driverServer) TaskConfigSchema(context.Context, *driverpb.TaskConfigSchemaRequest) (*driverpb.TaskConfigSchemaResponse, error) {
	spec := specToProto(s.impl.TaskConfigSpec())
	if spec == nil {
		return nil, errors.New("driver returned no task config schema; return an empty Object for no options")
	}
	return &driverpb.TaskConfigSchemaResponse{Spec: spec}, nil
}

func (s *driverServer) Capabilities(context.Context, *driverpb.CapabilitiesRequest) (*driverpb.CapabilitiesResponse, error) {
	return &driverpb.CapabilitiesResponse{Capabilities: capabilitiesToProto(s.impl.Capabilities())}, nil
}

func (s *driverServer) Fingerprint(_ *driverpb.FingerprintRequest, stream driverpb.Driver_FingerprintServer) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()

	ch, err := s.impl.Fingerprint(ctx)
	if err != nil {
		s.logger.Error("failed to start fingerprinting", "error", err)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case fp, ok := <-ch:
			if !ok {
				return nil
			}
			if fp == nil {
				continue
			}
			if err := stream.Send(fingerprintToProto(fp)); err != nil {
				return err
			}
		}
	}
}

func (s *driverServer) StartTask(ctx context.Context, req *driverpb.StartTaskRequest) (*driverpb.StartTaskResponse, error) {
	cfg := taskConfigFromProto(req.GetTask())
	if cfg == nil {
		return nil, errors.New("start request has no task config")
	}

	handle, network, err := s.impl.StartTask(ctx, cfg)
	if err != nil {
		s.logger.Error("failed to start task", "task_id", cfg.ID, "error", err)
		return nil, toStatus(err)
	}
	if handle == nil {
		return nil, errors.New("driver returned no task handle")
	}
	if handle.Config == nil {
		handle.Config = cfg
	}
	return &driverpb.StartTaskResponse{
		Handle:          taskHandleToProto(handle),
		NetworkOverride: networkOverrideToProto(network),
	}, nil
}

func (s *driverServer) RecoverTask(ctx context.Context, req *driverpb.RecoverTaskRequest) (*driverpb.RecoverTaskResponse, error) {
	handle := taskHandleFromProto(req.GetHandle())
	if handle == nil || handle.Config == nil || handle.Config.ID == "" {
		return nil, errors.New("recover request has no task handle with a config id")
	}
	if err := s.impl.RecoverTask(ctx, handle); err != nil {
		s.logger.Error("failed to recover task", "task_id", handle.Config.ID, "error", err)
		return nil, err
	}
	return &driverpb.RecoverTaskResponse{}, nil
}

func (s *driverServer) WaitTask(ctx context.Context, req *driverpb.WaitTaskRequest) (*driverpb.WaitTaskResponse, error) {
	result, err := s.impl.WaitTask(ctx, req.GetTaskId())
	if err != nil {
		return nil, err
	}
	resp := &driverpb.WaitTaskResponse{Result: exitResultToProto(result)}
	if result != nil {
		resp.Err = result.Err
	}
	return resp, nil
}

func (s *driverServer) StopTask(ctx context.Context, req *driverpb.StopTaskRequest) (*driverpb.StopTaskResponse, error) {
	timeout := req.GetTimeout().AsDuration()
	if err := s.impl.StopTask(ctx, req.GetTaskId(), timeout, req.GetSignal()); err != nil {
		s.logger.Error("failed to stop task", "task_id", req.GetTaskId(), "error", err)
		return nil, err
	}
	return &driverpb.StopTaskResponse{}, nil
}

func (s *driverServer) DestroyTask(ctx context.Context, req *driverpb.DestroyTaskRequest) (*driverpb.DestroyTaskResponse, error) {
	if err := s.impl.DestroyTask(ctx, req.GetTaskId(), req.GetForce()); err != nil {
		return nil, err
	}
	return &driverpb.DestroyTaskResponse{}, nil
}

func (s *driverServer) InspectTask(ctx context.Context, req *driverpb.InspectTaskRequest) (*driverpb.InspectTaskResponse, error) {
	st, err := s.impl.InspectTask(ctx, req.GetTaskId())
	if err != nil {
		return nil, err
	}
	return taskStatusToProto(st), nil
}

func (s *driverServer) SignalTask(ctx context.Context, req *driverpb.SignalTaskRequest) (*driverpb.SignalTaskResponse, error) {
	if err := s.impl.SignalTask(ctx, req.GetTaskId(), req.GetSignal()); err != nil {
		return nil, err
	}
	return &driverpb.SignalTaskResponse{}, nil
}

func (s *driverServer) ExecTask(ctx context.Context, req *driverpb.ExecTaskRequest) (*driverpb.ExecTaskResponse, error) {
	res, err := s.impl.ExecTask(ctx, req.GetTaskId(), req.GetCommand(), req.GetTimeout().AsDuration())
	if err != nil {
		return nil, err
	}
	if res == nil {
		res = &ExecResult{}
	}
	return &driverpb.ExecTaskResponse{
		Stdout: res.Stdout,
		Stderr: res.Stderr,
		Result: exitResultToProto(&res.Exit),
	}, nil
}
