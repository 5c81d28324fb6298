package plugins

import (
	"context"
	"io"
	"time"

	"github.com/ferry-video/ferry/plugins/hclspec"
)

// PluginType is the kind of plugin reported to Nomad: driver or device.
type PluginType int

const (
	PluginTypeDriver PluginType = 2
	PluginTypeDevice PluginType = 3
)

// APIVersion is the plugin API version Nomad 1.6 to 2.0 accept for drivers
// and devices.
const APIVersion = "v0.1.0"

// Info describes a plugin to Nomad. Name must equal the binary's file name,
// because Nomad finds the agent's plugin block by file name and jobs by Name.
type Info struct {
	Type    PluginType
	Name    string
	Version string
}

// AgentConfig holds the agent settings Nomad sends with SetConfig. It is nil
// in the validation run Nomad makes at agent start.
type AgentConfig struct {
	ClientMinPort uint32
	ClientMaxPort uint32
}

// Base is the part of the plugin interface that drivers and devices share.
type Base interface {
	// Info returns the plugin's type, name and version.
	Info() Info
	// ConfigSpec returns the schema of the agent's plugin config block, or
	// nil when the plugin takes no config.
	ConfigSpec() *hclspec.Spec
	// SetConfig applies the agent config, given as cty msgpack decoded
	// against ConfigSpec. It may be called several times; agent is nil in
	// Nomad's validation run.
	SetConfig(msgpack []byte, agent *AgentConfig) error
}

// Driver is a Nomad task driver. Every method may be called concurrently.
// Errors returned by StartTask may wrap [Recoverable] to let Nomad's restart
// policy retry.
type Driver interface {
	Base

	// TaskConfigSpec returns the schema of a task's config block.
	TaskConfigSpec() *hclspec.Spec
	Capabilities() Capabilities

	// Fingerprint sends the driver's health and node attributes on the
	// returned channel: once at once, then whenever they change. The
	// channel is closed when ctx is done.
	Fingerprint(ctx context.Context) (<-chan *Fingerprint, error)

	StartTask(ctx context.Context, cfg *TaskConfig) (*TaskHandle, *NetworkOverride, error)
	// RecoverTask re-attaches to a task started by an earlier plugin
	// process. It succeeds without doing anything if the task is tracked.
	RecoverTask(ctx context.Context, handle *TaskHandle) error
	// WaitTask blocks until the task exits or ctx is done. It may be
	// called many times, also after the exit, until DestroyTask.
	WaitTask(ctx context.Context, taskID string) (*ExitResult, error)
	StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error
	DestroyTask(ctx context.Context, taskID string, force bool) error
	InspectTask(ctx context.Context, taskID string) (*TaskStatus, error)
	// TaskStats sends resource usage every interval until ctx is done.
	TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *TaskResourceUsage, error)
	// TaskEvents returns one stream of events for all tasks; it is closed
	// when ctx is done.
	TaskEvents(ctx context.Context) (<-chan *TaskEvent, error)
	SignalTask(ctx context.Context, taskID string, signal string) error
	ExecTask(ctx context.Context, taskID string, cmd []string, timeout time.Duration) (*ExecResult, error)
	// ExecTaskStreaming runs cmd in the task with the given streams and
	// returns its exit result when it ends.
	ExecTaskStreaming(ctx context.Context, taskID string, opts *ExecOptions) (*ExitResult, error)
}

// Shutdowner is implemented by drivers that want Nomad's Shutdown call
// (Nomad 2.0.4 and later) before the agent kills the plugin.
type Shutdowner interface {
	Shutdown(ctx context.Context) error
}

// FSIsolation is the file system isolation mode a driver gives tasks.
type FSIsolation int

const (
	FSIsolationNone   FSIsolation = 0
	FSIsolationChroot FSIsolation = 1
	FSIsolationImage  FSIsolation = 2
)

// NetIsolationMode matches Nomad's network isolation modes.
type NetIsolationMode int

const (
	NetIsolationHost  NetIsolationMode = 0
	NetIsolationGroup NetIsolationMode = 1
	NetIsolationTask  NetIsolationMode = 2
	NetIsolationNone  NetIsolationMode = 3
)

// Capabilities are the features a driver reports to Nomad.
type Capabilities struct {
	SendSignals          bool
	Exec                 bool
	FSIsolation          FSIsolation
	NetIsolationModes    []NetIsolationMode
	MustCreateNetwork    bool
	NoMounts             bool
	DisableLogCollection bool
}

// HealthState is a driver's health as reported to Nomad.
type HealthState int

const (
	HealthUndetected HealthState = 0
	HealthUnhealthy  HealthState = 1
	HealthHealthy    HealthState = 2
)

// Fingerprint is one fingerprint message.
type Fingerprint struct {
	Health      HealthState
	Description string
	// Attributes become node attributes; an empty string value deletes
	// the attribute on the node.
	Attributes map[string]Attribute
	Err        string
}

// Attribute is a typed node or device attribute. Exactly one of the value
// fields is meaningful, chosen by Kind.
type Attribute struct {
	Kind   AttributeKind
	String string
	Int    int64
	Float  float64
	Bool   bool
	// Unit is one of Nomad's units (such as "MiB" or "MB/s"), only for
	// Int and Float.
	Unit string
}

// AttributeKind names the field of an Attribute that contains the value.
type AttributeKind int

const (
	AttributeString AttributeKind = iota
	AttributeInt
	AttributeFloat
	AttributeBool
)

// StringAttribute, IntAttribute and BoolAttribute build attributes.
func StringAttribute(s string) Attribute { return Attribute{Kind: AttributeString, String: s} }
func IntAttribute(i int64, unit string) Attribute {
	return Attribute{Kind: AttributeInt, Int: i, Unit: unit}
}
func BoolAttribute(b bool) Attribute { return Attribute{Kind: AttributeBool, Bool: b} }

// TaskConfig is what Nomad sends to start a task.
type TaskConfig struct {
	ID            string
	Name          string
	JobName       string
	JobID         string
	TaskGroupName string
	Namespace     string
	NodeName      string
	NodeID        string
	AllocID       string
	// DriverConfig is the task's config block as cty msgpack. It is empty
	// in handles recovered after an agent restart.
	DriverConfig []byte
	Env          map[string]string
	DeviceEnv    map[string]string
	Resources    *Resources
	Mounts       []Mount
	Devices      []Device
	User         string
	AllocDir     string
	StdoutPath   string
	StderrPath   string
	NetIsolation *NetworkIsolation
	DNS          *DNSConfig
}

// TaskDir returns the host path of the task's own directory.
func (c *TaskConfig) TaskDir() string { return c.AllocDir + "/" + c.Name }

// Resources are the task's allocated resources.
type Resources struct {
	CPUShares        int64 // MHz
	MemoryMB         int64
	MemoryMaxMB      int64
	CPUSetCPUs       string
	CPUSetCgroup     string
	MemoryLimitBytes int64
	PercentTicks     float64
	Ports            []PortMapping
}

// PortMapping maps an allocation port label to the host port and the port
// inside the task.
type PortMapping struct {
	Label  string
	Value  int32
	To     int32
	HostIP string
}

// Mount is a host path Nomad wants bound into the task.
type Mount struct {
	TaskPath        string
	HostPath        string
	ReadOnly        bool
	PropagationMode string
	SELinuxLabel    string
}

// Device is a host device node Nomad wants exposed in the task.
type Device struct {
	TaskPath    string
	HostPath    string
	Permissions string // a combination of r, w and m
}

// NetworkIsolation is the group network namespace Nomad created, or that a
// NetworkManager driver created for Nomad.
type NetworkIsolation struct {
	Mode NetIsolationMode
	// Path is the namespace's file, such as /var/run/netns/<alloc id>.
	Path   string
	Labels map[string]string
	// Hosts is the group's hostname and address, which Nomad sets in the
	// tasks' specs once its CNI plugins have configured the namespace. It
	// is nil in CreateNetwork's response.
	Hosts *HostsConfig
}

// HostsConfig is the hostname and address for a task's /etc/hosts in a
// group network.
type HostsConfig struct {
	Hostname string
	Address  string
}

// DNSConfig is the group's DNS settings.
type DNSConfig struct {
	Servers  []string
	Searches []string
	Options  []string
}

// TaskHandle is stored by Nomad and handed back to RecoverTask.
type TaskHandle struct {
	Version     int32 // format of DriverState; 1 or more
	Config      *TaskConfig
	State       TaskState
	DriverState []byte
}

// TaskState is a task's run state.
type TaskState int

const (
	TaskStateUnknown TaskState = 0
	TaskStateRunning TaskState = 1
	TaskStateExited  TaskState = 2
)

// NetworkOverride is the task's own address and port map, reported to
// Nomad for service registration.
type NetworkOverride struct {
	PortMap       map[string]int32
	Addr          string
	AutoAdvertise bool
}

// ExitResult is the exit status of a task.
type ExitResult struct {
	ExitCode  int32
	Signal    int32
	OOMKilled bool
	// Err is a driver-side error while waiting; it makes the exit count as
	// failed.
	Err string
}

// Successful reports whether Nomad counts the exit as a success.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && r.Err == ""
}

// TaskStatus is returned by InspectTask.
type TaskStatus struct {
	ID          string
	Name        string
	State       TaskState
	StartedAt   time.Time
	CompletedAt time.Time
	Result      ExitResult
	Attributes  map[string]string
	Network     *NetworkOverride
}

// TaskResourceUsage is one stats sample.
type TaskResourceUsage struct {
	Timestamp time.Time
	CPU       CPUUsage
	Memory    MemoryUsage
}

// CPUUsage is CPU use in a sample; Measured names the fields that are set
// ("System Mode", "User Mode", "Total Ticks", "Throttled Periods",
// "Throttled Time", "Percent").
type CPUUsage struct {
	SystemMode       float64
	UserMode         float64
	TotalTicks       float64
	ThrottledPeriods uint64
	ThrottledTime    uint64
	Percent          float64
	Measured         []string
}

// MemoryUsage is memory use in a sample, in bytes; Measured names the fields
// that are set ("RSS", "Cache", "Max Usage", "Kernel Usage",
// "Kernel Max Usage", "Usage", "Swap").
type MemoryUsage struct {
	RSS            uint64
	Cache          uint64
	MaxUsage       uint64
	KernelUsage    uint64
	KernelMaxUsage uint64
	Usage          uint64
	Swap           uint64
	Measured       []string
}

// TaskEvent is a driver event shown in `nomad alloc status`.
type TaskEvent struct {
	TaskID      string
	AllocID     string
	TaskName    string
	Timestamp   time.Time
	Message     string
	Annotations map[string]string
}

// ExecResult is the output of a finished ExecTask.
type ExecResult struct {
	Stdout []byte
	Stderr []byte
	Exit   ExitResult
}

// ExecOptions are the streams and settings of an interactive exec.
type ExecOptions struct {
	Command []string
	TTY     bool
	Stdin   io.ReadCloser
	Stdout  io.WriteCloser
	Stderr  io.WriteCloser
	// Resize receives terminal size changes while TTY is set.
	Resize <-chan TerminalSize
}

// TerminalSize is a TTY's size in characters.
type TerminalSize struct {
	Height, Width int
}
