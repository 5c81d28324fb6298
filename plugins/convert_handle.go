package plugins

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// taskHandleToProto converts a task handle; nil gives nil.
func taskHandleToProto(h *TaskHandle) *pb.TaskHandle {
	if h == nil {
		return nil
	}
	return &pb.TaskHandle{
		Version:     h.Version,
		Config:      taskConfigToProto(h.Config),
		State:       pb.TaskState(h.State),
		DriverState: h.DriverState,
	}
}

// taskHandleFromProto converts a wire task handle; nil gives nil.
func taskHandleFromProto(h *pb.TaskHandle) *TaskHandle {
	if h == nil {
		return nil
	}
	return &TaskHandle{
		Version:     h.GetVersion(),
		Config:      taskConfigFromProto(h.GetConfig()),
		State:       TaskState(h.GetState()),
		DriverState: h.GetDriverState(),
	}
}

// networkOverrideToProto converts a network override; nil gives nil.
func networkOverrideToProto(n *NetworkOverride) *pb.NetworkOverride {
	if n == nil {
		return nil
	}
	return &pb.NetworkOverride{PortMap: n.PortMap, Addr: n.Addr, AutoAdvertise: n.AutoAdvertise}
}

// networkOverrideFromProto converts a wire network override; nil gives nil.
func networkOverrideFromProto(n *pb.NetworkOverride) *NetworkOverride {
	if n == nil {
		return nil
	}
	return &NetworkOverride{PortMap: n.GetPortMap(), Addr: n.GetAddr(), AutoAdvertise: n.GetAutoAdvertise()}
}

// exitResultToProto converts an exit result, never returning nil because
// Nomad dereferences results without a check. Err travels separately.
func exitResultToProto(r *ExitResult) *pb.ExitResult {
	if r == nil {
		return &pb.ExitResult{}
	}
	return &pb.ExitResult{ExitCode: r.ExitCode, Signal: r.Signal, OomKilled: r.OOMKilled}
}

// exitResultFromProto converts a wire exit result and the separate error
// text of a WaitTask response.
func exitResultFromProto(r *pb.ExitResult, errText string) *ExitResult {
	return &ExitResult{
		ExitCode:  r.GetExitCode(),
		Signal:    r.GetSignal(),
		OOMKilled: r.GetOomKilled(),
		Err:       errText,
	}
}

// taskStatusToProto converts an inspect result. The task, its result and
// both timestamps are always set, because Nomad reads them without checks.
func taskStatusToProto(s *TaskStatus) *pb.InspectTaskResponse {
	if s == nil {
		s = &TaskStatus{}
	}
	return &pb.InspectTaskResponse{
		Task: &pb.TaskStatus{
			Id:          s.ID,
			Name:        s.Name,
			State:       pb.TaskState(s.State),
			StartedAt:   timestamppb.New(s.StartedAt),
			CompletedAt: timestamppb.New(s.CompletedAt),
			Result:      exitResultToProto(&s.Result),
		},
		Driver:          &pb.TaskDriverStatus{Attributes: s.Attributes},
		NetworkOverride: networkOverrideToProto(s.Network),
	}
}

// taskStatusFromProto converts an inspect response.
func taskStatusFromProto(r *pb.InspectTaskResponse) *TaskStatus {
	t := r.GetTask()
	return &TaskStatus{
		ID:          t.GetId(),
		Name:        t.GetName(),
		State:       TaskState(t.GetState()),
		StartedAt:   timeFromProto(t.GetStartedAt()),
		CompletedAt: timeFromProto(t.GetCompletedAt()),
		Result:      *exitResultFromProto(t.GetResult(), ""),
		Attributes:  r.GetDriver().GetAttributes(),
		Network:     networkOverrideFromProto(r.GetNetworkOverride()),
	}
}

func timeFromProto(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

// taskEventToProto converts a driver event.
func taskEventToProto(e *TaskEvent) *pb.DriverTaskEvent {
	return &pb.DriverTaskEvent{
		TaskId:      e.TaskID,
		AllocId:     e.AllocID,
		TaskName:    e.TaskName,
		Timestamp:   timestamppb.New(e.Timestamp),
		Message:     e.Message,
		Annotations: e.Annotations,
	}
}

// taskEventFromProto converts a wire driver event.
func taskEventFromProto(e *pb.DriverTaskEvent) *TaskEvent {
	return &TaskEvent{
		TaskID:      e.GetTaskId(),
		AllocID:     e.GetAllocId(),
		TaskName:    e.GetTaskName(),
		Timestamp:   timeFromProto(e.GetTimestamp()),
		Message:     e.GetMessage(),
		Annotations: e.GetAnnotations(),
	}
}
