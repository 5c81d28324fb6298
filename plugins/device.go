package plugins

import (
	"context"
	"time"
)

// PluginSetDevice is the go-plugin set key of the device service.
const PluginSetDevice = "device"

// DevicePlugin is a Nomad device plugin. Every method may be called
// concurrently. (Device is the name of a TaskConfig's device node.)
type DevicePlugin interface {
	Base

	// Fingerprint sends the detected device groups on the returned
	// channel: the first message at once, even with no groups, then a
	// message whenever a device or its health changes. A message with Err
	// set ends the stream with that error. The channel is closed when ctx
	// is done.
	Fingerprint(ctx context.Context) (<-chan *DeviceFingerprint, error)
	// Reserve returns what a task needs to use the devices with the given
	// ids, which all belong to one group.
	Reserve(ids []string) (*ContainerReservation, error)
	// Stats sends the stats of every device each interval until ctx is
	// done.
	Stats(ctx context.Context, interval time.Duration) (<-chan []*DeviceGroupStats, error)
}

// DeviceFingerprint is one message of a device plugin's fingerprint stream.
type DeviceFingerprint struct {
	Groups []*DeviceGroup
	// Err ends the stream. Nomad then stops managing the plugin until the
	// agent restarts.
	Err error
}

// DeviceGroup is a set of identical devices. Jobs request devices as
// "Vendor/Type/Name" and constrain them on Attributes.
type DeviceGroup struct {
	Vendor     string
	Type       string
	Name       string
	Devices    []*DetectedDevice
	Attributes map[string]Attribute
}

// DetectedDevice is one device instance. ID must stay the same across
// plugin restarts, because Nomad passes it back to Reserve.
type DetectedDevice struct {
	ID                string
	Healthy           bool
	HealthDescription string
	// PCIBusID is the device's PCI address, such as "0000:00:14.0", or
	// empty when unknown.
	PCIBusID string
}

// ContainerReservation is the environment, mounts and device nodes a task
// gets for its reserved devices. Nomad passes them to the task driver,
// which must apply them.
type ContainerReservation struct {
	Envs    map[string]string
	Mounts  []DeviceMount
	Devices []DeviceSpec
}

// DeviceMount is a host path to bind into the task.
type DeviceMount struct {
	TaskPath string
	HostPath string
	ReadOnly bool
}

// DeviceSpec is a device node to expose in the task.
type DeviceSpec struct {
	TaskPath    string
	HostPath    string
	Permissions string // a combination of r, w and m
}

// DeviceGroupStats are the stats of one group's devices.
type DeviceGroupStats struct {
	Vendor string
	Type   string
	Name   string
	// InstanceStats is keyed by device ID.
	InstanceStats map[string]*DeviceStats
}

// DeviceStats are one device's stats at Timestamp.
type DeviceStats struct {
	Summary   *StatValue
	Stats     *StatObject
	Timestamp time.Time
}

// StatObject is a tree of named stat values.
type StatObject struct {
	Nested     map[string]*StatObject
	Attributes map[string]*StatValue
}

// StatValue is one stat. Exactly one of the value fields is meaningful,
// chosen by Kind. Unlike attribute units, Unit is free text.
type StatValue struct {
	Kind   AttributeKind
	String string
	Int    int64
	Float  float64
	Bool   bool
	Unit   string
	Desc   string
}
