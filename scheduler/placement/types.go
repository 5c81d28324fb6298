package placement

import "time"

// Locality is a group's requirement to run where its data is.
type Locality string

const (
	// LocalityRequired places a group only on a node that holds all of its
	// data. A group that no such node can take stays unplaced.
	LocalityRequired Locality = "required"
	// LocalityPreferred places a group on a node that holds its data when
	// one has room, and otherwise on a node in the same site as a holder,
	// and otherwise on any node, counting the bytes that must move.
	LocalityPreferred Locality = "preferred"
)

// TimeRange is the half-open interval [Start, End). The zero TimeRange means
// "no range": on a Holding, a recording whose span is not known, and on a
// Group, all of the camera's recordings.
type TimeRange struct {
	Start time.Time
	End   time.Time
}

// IsZero reports whether both ends are unset.
func (r TimeRange) IsZero() bool {
	return r.Start.IsZero() && r.End.IsZero()
}

// Node is a Nomad client node that can run groups.
type Node struct {
	ID   string
	Site string
	// CPUMHz and MemoryMB are the node's capacity.
	CPUMHz   int64
	MemoryMB int64
	// UsedCPUMHz and UsedMemoryMB are taken by work other than the groups
	// being placed. Allocations of the groups in this input must not be
	// counted here, or they would be counted twice.
	UsedCPUMHz   int64
	UsedMemoryMB int64
	// Eligible is false for a node that is draining or marked ineligible.
	// Such a node receives no group, but its recordings can still be read.
	Eligible bool
}

// Camera is a video source whose recordings groups analyse.
type Camera struct {
	ID   string
	Site string
	Tags []string
}

// Holding is one node's copy of one recording of a camera. Holdings with the
// same camera and range on several nodes are replicas of one recording.
// A holding whose node is not in Input.Nodes is ignored, as is one marked
// Unhealthy: its node cannot serve the data.
type Holding struct {
	CameraID  string
	NodeID    string
	Range     TimeRange
	Bytes     int64
	Unhealthy bool
	// Replica marks a copy kept for another node's recording, such as
	// under a registrar's replica root. When an original holder and a
	// replica holder both have room, a new group goes to the original.
	Replica bool
}

// Group is one task group to place: analytics over one camera's recordings,
// either all of them (zero Range) or those overlapping Range.
type Group struct {
	// ID is unique within an input, and stable across re-plans so that the
	// previous plan can be matched.
	ID       string
	CameraID string
	Range    TimeRange
	CPUMHz   int64
	MemoryMB int64
	// Locality defaults to LocalityPreferred when empty.
	Locality Locality
	// Idle marks a group that has no allocation running or waiting to run,
	// such as a finished batch group, so it takes no CPU or memory.
	Idle bool
}

// Input is everything one placement run reads.
type Input struct {
	Nodes    []Node
	Cameras  []Camera
	Holdings []Holding
	Groups   []Group
	// Previous is the last plan applied, or nil. Its placements are kept
	// when still valid, so that only groups that must move do move.
	Previous *Plan
}

// Reason is the cause of a group's placement, or of its staying unplaced.
type Reason string

// Reasons for a placement.
const (
	// ReasonLocal: the node holds all of the group's data.
	ReasonLocal Reason = "local"
	// ReasonReplica: the node that ran the group lost its data or left, and
	// the group moved to a node holding a replica. No bytes move.
	ReasonReplica Reason = "replica"
	// ReasonPartial: no full holder had room, so the group runs on a node
	// holding part of its data and the rest moves.
	ReasonPartial Reason = "partial_holder"
	// ReasonSameSite: no holder had room, so the group runs on another
	// node in a holder's site and its data moves within the site.
	ReasonSameSite Reason = "same_site"
	// ReasonRemote: no node in a holder's site had room, so the data moves
	// across sites.
	ReasonRemote Reason = "remote"
	// ReasonQueued: the group requires locality and no holder has room
	// now, so it is placed on a holder anyway and Nomad runs it once
	// allocations there finish and free room.
	ReasonQueued Reason = "queued_on_holder"
	// ReasonNoData: a model without knowledge of data placed the group on
	// a node that does not hold it. Only the Nomad models use it.
	ReasonNoData Reason = "data_unaware"
)

// Reasons a group is not placed.
const (
	// ReasonNoHolder: no healthy node holds the group's data.
	ReasonNoHolder Reason = "no_healthy_holder"
	// ReasonHoldersFull: the group requires locality and every holder is
	// ineligible (draining or marked ineligible).
	ReasonHoldersFull Reason = "holders_full"
	// ReasonNoCapacity: no eligible node has room for the group.
	ReasonNoCapacity Reason = "no_capacity"
)

// Placement is the decision for one placed group.
type Placement struct {
	GroupID  string `json:"group_id"`
	CameraID string `json:"camera_id"`
	NodeID   string `json:"node_id"`
	Site     string `json:"site"`
	// Local is true when the node holds all of the group's data.
	Local bool `json:"local"`
	// BytesMoved counts the bytes of recordings the node does not hold.
	// BytesMovedAcrossSites is the part of them that no holder in the
	// node's site has, so they cross a site link.
	BytesMoved            int64  `json:"bytes_moved"`
	BytesMovedAcrossSites int64  `json:"bytes_moved_across_sites"`
	Reason                Reason `json:"reason"`
	Detail                string `json:"detail,omitempty"`
}

// Unplaced is a group that could not be placed.
type Unplaced struct {
	GroupID  string `json:"group_id"`
	CameraID string `json:"camera_id"`
	Reason   Reason `json:"reason"`
	Detail   string `json:"detail,omitempty"`
}

// Totals sums a plan.
type Totals struct {
	Placed   int `json:"placed"`
	Local    int `json:"local"`
	Unplaced int `json:"unplaced"`
	// Kept counts groups left on the node the previous plan gave them,
	// and Moved those the previous plan had on another node.
	Kept                  int   `json:"kept"`
	Moved                 int   `json:"moved"`
	BytesMoved            int64 `json:"bytes_moved"`
	BytesMovedAcrossSites int64 `json:"bytes_moved_across_sites"`
}

// Plan is the result of one placement run. Placements and Unplaced follow
// the order of Input.Groups.
type Plan struct {
	Placements []Placement `json:"placements"`
	Unplaced   []Unplaced  `json:"unplaced"`
	Totals     Totals      `json:"totals"`
}
