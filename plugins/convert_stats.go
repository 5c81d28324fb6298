package plugins

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// Names of measured fields as they appear in CPUUsage.Measured and
// MemoryUsage.Measured, which are the names Nomad's client shows.
var (
	cpuFieldNames = map[string]pb.CPUUsage_Fields{
		"System Mode":       pb.CPUUsage_SYSTEM_MODE,
		"User Mode":         pb.CPUUsage_USER_MODE,
		"Total Ticks":       pb.CPUUsage_TOTAL_TICKS,
		"Throttled Periods": pb.CPUUsage_THROTTLED_PERIODS,
		"Throttled Time":    pb.CPUUsage_THROTTLED_TIME,
		"Percent":           pb.CPUUsage_PERCENT,
	}
	memoryFieldNames = map[string]pb.MemoryUsage_Fields{
		"RSS":              pb.MemoryUsage_RSS,
		"Cache":            pb.MemoryUsage_CACHE,
		"Max Usage":        pb.MemoryUsage_MAX_USAGE,
		"Kernel Usage":     pb.MemoryUsage_KERNEL_USAGE,
		"Kernel Max Usage": pb.MemoryUsage_KERNEL_MAX_USAGE,
		"Usage":            pb.MemoryUsage_USAGE,
		"Swap":             pb.MemoryUsage_SWAP,
	}
)

// taskStatsToProto converts one stats sample. The aggregate usage and its
// CPU and memory parts are always set, because Nomad reads them without
// checks. Unknown measured field names are dropped.
func taskStatsToProto(taskID string, u *TaskResourceUsage) *pb.TaskStats {
	cpu := &pb.CPUUsage{
		SystemMode:       u.CPU.SystemMode,
		UserMode:         u.CPU.UserMode,
		TotalTicks:       u.CPU.TotalTicks,
		ThrottledPeriods: u.CPU.ThrottledPeriods,
		ThrottledTime:    u.CPU.ThrottledTime,
		Percent:          u.CPU.Percent,
	}
	for _, name := range u.CPU.Measured {
		if f, ok := cpuFieldNames[name]; ok {
			cpu.MeasuredFields = append(cpu.MeasuredFields, f)
		}
	}
	mem := &pb.MemoryUsage{
		Rss:            u.Memory.RSS,
		Cache:          u.Memory.Cache,
		MaxUsage:       u.Memory.MaxUsage,
		KernelUsage:    u.Memory.KernelUsage,
		KernelMaxUsage: u.Memory.KernelMaxUsage,
		Usage:          u.Memory.Usage,
		Swap:           u.Memory.Swap,
	}
	for _, name := range u.Memory.Measured {
		if f, ok := memoryFieldNames[name]; ok {
			mem.MeasuredFields = append(mem.MeasuredFields, f)
		}
	}
	return &pb.TaskStats{
		Id:                 taskID,
		Timestamp:          timestamppb.New(u.Timestamp),
		AggResourceUsage:   &pb.TaskResourceUsage{Cpu: cpu, Memory: mem},
		ResourceUsageByPid: map[string]*pb.TaskResourceUsage{},
	}
}

// taskStatsFromProto converts a wire stats sample's aggregate usage.
func taskStatsFromProto(s *pb.TaskStats) *TaskResourceUsage {
	cpu := s.GetAggResourceUsage().GetCpu()
	mem := s.GetAggResourceUsage().GetMemory()
	out := &TaskResourceUsage{
		Timestamp: timeFromProto(s.GetTimestamp()),
		CPU: CPUUsage{
			SystemMode:       cpu.GetSystemMode(),
			UserMode:         cpu.GetUserMode(),
			TotalTicks:       cpu.GetTotalTicks(),
			ThrottledPeriods: cpu.GetThrottledPeriods(),
			ThrottledTime:    cpu.GetThrottledTime(),
			Percent:          cpu.GetPercent(),
		},
		Memory: MemoryUsage{
			RSS:            mem.GetRss(),
			Cache:          mem.GetCache(),
			MaxUsage:       mem.GetMaxUsage(),
			KernelUsage:    mem.GetKernelUsage(),
			KernelMaxUsage: mem.GetKernelMaxUsage(),
			Usage:          mem.GetUsage(),
			Swap:           mem.GetSwap(),
		},
	}
	for _, f := range cpu.GetMeasuredFields() {
		out.CPU.Measured = append(out.CPU.Measured, nameOf(cpuFieldNames, f))
	}
	for _, f := range mem.GetMeasuredFields() {
		out.Memory.Measured = append(out.Memory.Measured, nameOf(memoryFieldNames, f))
	}
	return out
}

func nameOf[F comparable](names map[string]F, field F) string {
	for name, f := range names {
		if f == field {
			return name
		}
	}
	return ""
}
