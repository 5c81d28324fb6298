package placement

import (
	"errors"
	"fmt"
)

// ErrInvalidInput is wrapped by every error about a malformed Input.
var ErrInvalidInput = errors.New("invalid placement input")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

// Validate checks a time range: both ends set, End after Start.
func (r TimeRange) Validate() error {
	if r.Start.IsZero() || r.End.IsZero() {
		return fmt.Errorf("time range %s: both start and end must be set, or neither", r)
	}
	if r.End.Before(r.Start) {
		return fmt.Errorf("time range %s is reversed: end is before start; swap them", r)
	}
	if r.End.Equal(r.Start) {
		return fmt.Errorf("time range %s is empty: end equals start; give end after start", r)
	}
	return nil
}

func (r TimeRange) String() string {
	const layout = "2006-01-02T15:04:05Z07:00"
	return fmt.Sprintf("[%s, %s)", r.Start.UTC().Format(layout), r.End.UTC().Format(layout))
}

// overlaps reports whether two ranges share an instant. A zero range
// overlaps every range.
func (r TimeRange) overlaps(o TimeRange) bool {
	if r.IsZero() || o.IsZero() {
		return true
	}
	return r.Start.Before(o.End) && o.Start.Before(r.End)
}

func validateInput(in Input) error {
	if err := validateNodes(in.Nodes); err != nil {
		return err
	}
	cameras := make(map[string]bool, len(in.Cameras))
	for i, c := range in.Cameras {
		if c.ID == "" {
			return invalid("cameras[%d]: id is empty; give every camera an id", i)
		}
		if cameras[c.ID] {
			return invalid("camera %q is listed twice; camera ids must be unique", c.ID)
		}
		cameras[c.ID] = true
	}
	for i, h := range in.Holdings {
		if err := validateHolding(i, h); err != nil {
			return err
		}
	}
	return validateGroups(in.Groups, cameras)
}

func validateNodes(nodes []Node) error {
	seen := make(map[string]bool, len(nodes))
	for i, n := range nodes {
		if n.ID == "" {
			return invalid("nodes[%d]: id is empty; give every node an id", i)
		}
		if seen[n.ID] {
			return invalid("node %q is listed twice; node ids must be unique", n.ID)
		}
		seen[n.ID] = true
		if n.CPUMHz < 0 || n.MemoryMB < 0 || n.UsedCPUMHz < 0 || n.UsedMemoryMB < 0 {
			return invalid("node %q: capacity and usage must not be negative", n.ID)
		}
	}
	return nil
}

func validateHolding(i int, h Holding) error {
	if h.CameraID == "" || h.NodeID == "" {
		return invalid("holdings[%d]: camera id and node id must both be set", i)
	}
	if h.Bytes < 0 {
		return invalid("holding of camera %q on node %q: bytes %d is negative", h.CameraID, h.NodeID, h.Bytes)
	}
	if h.Range.IsZero() {
		return nil
	}
	if err := h.Range.Validate(); err != nil {
		return invalid("holding of camera %q on node %q: %v", h.CameraID, h.NodeID, err)
	}
	return nil
}

func validateGroups(groups []Group, cameras map[string]bool) error {
	seen := make(map[string]bool, len(groups))
	for i, g := range groups {
		if g.ID == "" {
			return invalid("groups[%d]: id is empty; give every group an id", i)
		}
		if seen[g.ID] {
			return invalid("group %q is listed twice; group ids must be unique", g.ID)
		}
		seen[g.ID] = true
		if !cameras[g.CameraID] {
			return invalid("group %q: camera %q is not in the input's cameras", g.ID, g.CameraID)
		}
		if g.CPUMHz < 0 || g.MemoryMB < 0 {
			return invalid("group %q: cpu and memory demand must not be negative", g.ID)
		}
		switch g.Locality {
		case "", LocalityRequired, LocalityPreferred:
		default:
			return invalid("group %q: locality %q is unknown; use %q or %q", g.ID, g.Locality, LocalityRequired, LocalityPreferred)
		}
		if g.Range.IsZero() {
			continue
		}
		if err := g.Range.Validate(); err != nil {
			return invalid("group %q: %v", g.ID, err)
		}
	}
	return nil
}
