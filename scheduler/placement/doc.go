// Package placement decides which node runs each per-camera or
// per-recording task group, so that analytics run where the video is. It
// is pure: it reads only its Input, does no I/O, reads no clock, and the
// same Input always gives the same Plan. A separate step applies the plan
// to Nomad.
//
// # Input
//
// The caller builds an Input from Nomad and Consul:
//
//   - Nodes: each client node's site, CPU and memory capacity, the part
//     of it used by work other than these groups, and whether it is
//     eligible for new work.
//   - Cameras: id, site and tags. ExpandGroups turns a Selector over them
//     and a GroupTemplate into Groups, one per camera or per recording.
//   - Holdings: which node holds which recording of which camera (a time
//     range and a size in bytes). A recording on several nodes has one
//     Holding per node, and the extra ones are replicas. A Holding marked
//     Unhealthy, or naming a node missing from Nodes, is not used.
//   - Groups: the task groups to place, each with a camera, an optional
//     time range, CPU and memory demand, and LocalityRequired or
//     LocalityPreferred.
//   - Previous: the plan applied last time, so that a re-plan moves only
//     the groups that must move.
//
// # Use
//
//	plan, err := placement.Place(in, placement.Options{})
//	if err != nil {
//		return fmt.Errorf("place job %q: %w", jobID, err) // ErrInvalidInput: fix the input
//	}
//	for _, p := range plan.Placements {
//		// pin p.GroupID to p.NodeID; log p.Reason when !p.Local
//	}
//	for _, u := range plan.Unplaced {
//		// report u.GroupID, u.Reason and u.Detail
//	}
//	// keep plan and pass it as Input.Previous next time
//
// Every placement carries the bytes its node must fetch from holders
// (BytesMoved) and the part of them that crosses sites, and Plan.Totals
// sums them. See Place for the rules and their order.
//
// PlaceNomad models Nomad's own binpack and spread placement on the same
// Input, without knowledge of data, to measure what locality saves. The
// command in scheduler/bench runs both on a synthetic city from the
// citygen package.
package placement
