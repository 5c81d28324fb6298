package cluster

import (
	"context"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Placement is where one allocation of a per-camera job ran, next to where
// that camera's recordings are.
type Placement struct {
	AllocID string `json:"id"`
	Camera  string `json:"camera"`
	// Node is the node the allocation ran on.
	Node string `json:"node"`
	// DataNode is the node whose video driver reports the camera's
	// recordings, or "" when no node does.
	DataNode string `json:"data_node"`
	// BytesMoved is 0 when Node holds the recordings, else the bytes of
	// recordings that the task had to read from another node.
	BytesMoved int64 `json:"bytes_moved"`
	// Events is the N of the task's last "motion_events N" log line, or -1
	// when the log has none.
	Events   int `json:"events"`
	ExitCode int `json:"exit_code"`
	// Status is the allocation's client status.
	Status string `json:"-"`
	// TaskEvents are the allocation's task events, for failure reports.
	TaskEvents []TaskEvent `json:"-"`
	// StderrTail is the last lines of the task's stderr, for failure
	// reports.
	StderrTail string `json:"-"`
}

var motionEventsLine = regexp.MustCompile(`(?m)^motion_events (\d+)\s*$`)

// ParseMotionEvents returns N from the last "motion_events N" line of a
// task log, or -1 when there is none.
func ParseMotionEvents(log string) int {
	matches := motionEventsLine.FindAllStringSubmatch(log, -1)
	if len(matches) == 0 {
		return -1
	}
	n, err := strconv.Atoi(matches[len(matches)-1][1])
	if err != nil {
		return -1
	}
	return n
}

// cameraHolder is a node that reports recordings of a camera.
type cameraHolder struct {
	node  string
	bytes int64
}

// Placements reports, for each allocation of jobID, its camera (the
// `camera` meta of its task group), the node it ran on and the node holding
// that camera's recordings per the driver.video.camera.<id> attribute. It
// reads each task's log with `nomad alloc logs`, as a user would.
func (c *Cluster) Placements(ctx context.Context, jobID string) ([]Placement, error) {
	job, err := c.API.Job(ctx, jobID)
	if err != nil {
		return nil, err
	}
	holders, err := c.cameraHolders(ctx)
	if err != nil {
		return nil, err
	}
	allocs, err := c.API.JobAllocations(ctx, jobID)
	if err != nil {
		return nil, err
	}

	var placements []Placement
	for _, stub := range allocs {
		alloc, err := c.API.Allocation(ctx, stub.ID)
		if err != nil {
			return nil, err
		}
		p := Placement{
			AllocID:  alloc.ID,
			Camera:   job.groupMeta(alloc.TaskGroup, "camera"),
			Node:     alloc.NodeName,
			Events:   -1,
			ExitCode: -1,
			Status:   alloc.ClientStatus,
		}
		if h, ok := holders[p.Camera]; ok {
			p.DataNode = h.node
			if h.node != p.Node {
				p.BytesMoved = h.bytes
			}
		}
		for task, state := range alloc.TaskStates {
			p.ExitCode = state.ExitCode()
			p.TaskEvents = append(p.TaskEvents, state.Events...)
			// A task that never started has no logs, and nomad alloc logs
			// then fails. Events stays -1 for it.
			if logs, err := c.Run(ctx, "alloc", "logs", alloc.ID, task); err == nil {
				p.Events = ParseMotionEvents(logs)
			}
			if p.ExitCode != 0 {
				stderr, _ := c.Run(ctx, "alloc", "logs", "-stderr", "-tail", "-n", "5", alloc.ID, task)
				p.StderrTail = strings.TrimSpace(stderr)
			}
		}
		placements = append(placements, p)
	}
	sort.Slice(placements, func(i, j int) bool { return placements[i].Camera < placements[j].Camera })
	return placements, nil
}

// cameraHolders maps each camera id to the node that reports its
// recordings, from every node's driver.video.camera.<id> attribute.
func (c *Cluster) cameraHolders(ctx context.Context) (map[string]cameraHolder, error) {
	nodes, err := c.API.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	holders := make(map[string]cameraHolder)
	for _, stub := range nodes {
		node, err := c.API.Node(ctx, stub.ID)
		if err != nil {
			return nil, err
		}
		for camera, bytes := range node.CameraBytes() {
			holders[camera] = cameraHolder{node: node.Name, bytes: bytes}
		}
	}
	return holders, nil
}

// CameraBytes returns the bytes of recordings per camera id that the node's
// video driver reports.
func (n Node) CameraBytes() map[string]int64 {
	const prefix = "driver.video.camera."
	cameras := make(map[string]int64)
	for _, attrs := range []map[string]string{n.Attributes, n.Drivers["video"].Attributes} {
		for key, value := range attrs {
			if len(key) <= len(prefix) || key[:len(prefix)] != prefix {
				continue
			}
			// Nomad renders an integer attribute with its unit, as "5584794B".
			bytes, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(value, "B")), 10, 64)
			if err != nil {
				continue
			}
			cameras[key[len(prefix):]] = bytes
		}
	}
	return cameras
}

// ExitCode returns the exit code of the task's last Terminated event, or -1
// when it has not exited.
func (s TaskState) ExitCode() int {
	for i := len(s.Events) - 1; i >= 0; i-- {
		if s.Events[i].Type == "Terminated" {
			return s.Events[i].ExitCode
		}
	}
	return -1
}
