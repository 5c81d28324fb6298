package plugins

import (
	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

func (s *driverServer) TaskStats(req *driverpb.TaskStatsRequest, stream driverpb.Driver_TaskStatsServer) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()

	interval := req.GetCollectionInterval().AsDuration()
	if interval <= 0 {
		interval = defaultStatsInterval
	}
	ch, err := s.impl.TaskStats(ctx, req.GetTaskId(), interval)
	if err != nil {
		return toStatus(err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case usage, ok := <-ch:
			if !ok {
				return nil
			}
			if usage == nil {
				continue
			}
			resp := &driverpb.TaskStatsResponse{Stats: taskStatsToProto(req.GetTaskId(), usage)}
			if err := stream.Send(resp); err != nil {
				return err
			}
		}
	}
}

func (s *driverServer) TaskEvents(_ *driverpb.TaskEventsRequest, stream driverpb.Driver_TaskEventsServer) error {
	ctx, cancel := s.streamContext(stream.Context())
	defer cancel()

	ch, err := s.impl.TaskEvents(ctx)
	if err != nil {
		s.logger.Error("failed to start task events", "error", err)
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case event, ok := <-ch:
			if !ok {
				return nil
			}
			if event == nil {
				continue
			}
			if err := stream.Send(taskEventToProto(event)); err != nil {
				return err
			}
		}
	}
}
