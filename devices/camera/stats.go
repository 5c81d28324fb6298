package camera

import (
	"context"
	"strings"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// Stats sends each camera's health every interval, from the newest
// fingerprint scan. An IP camera's summary is its RTSP OPTIONS latency in
// milliseconds, and a local camera's summary is its device node.
func (p *Plugin) Stats(ctx context.Context, interval time.Duration) (<-chan []*plugins.DeviceGroupStats, error) {
	out := make(chan []*plugins.DeviceGroupStats, 1)
	go func() {
		defer close(out)
		t := p.clock.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case out <- buildStats(p.lastScan(), p.clock.Now()):
			case <-ctx.Done():
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C():
			}
		}
	}()
	return out, nil
}

func buildStats(s *scan, now time.Time) []*plugins.DeviceGroupStats {
	var out []*plugins.DeviceGroupStats
	for _, g := range buildGroups(s) {
		gs := &plugins.DeviceGroupStats{Vendor: g.Vendor, Type: g.Type, Name: g.Name, InstanceStats: map[string]*plugins.DeviceStats{}}
		for _, d := range g.Devices {
			gs.InstanceStats[d.ID] = deviceStats(s, d, now)
		}
		out = append(out, gs)
	}
	return out
}

func deviceStats(s *scan, d *plugins.DetectedDevice, now time.Time) *plugins.DeviceStats {
	attrs := map[string]*plugins.StatValue{
		"healthy": {Kind: plugins.AttributeBool, Bool: d.Healthy, Desc: d.HealthDescription},
	}
	stats := &plugins.DeviceStats{Stats: &plugins.StatObject{Attributes: attrs}, Timestamp: now}
	if len(s.unmatched) > 0 {
		attrs["unmatched_local_camera"] = &plugins.StatValue{
			String: strings.Join(s.unmatched, ", "),
			Desc:   "match values of local_camera blocks that match no camera",
		}
	}

	if cam, ok := s.localByID(d.ID); ok {
		attrs["name"] = &plugins.StatValue{String: cam.Name}
		attrs["device_node"] = &plugins.StatValue{String: cam.Node}
		attrs["bus_path"] = &plugins.StatValue{String: cam.BusPath}
		stats.Summary = &plugins.StatValue{String: cam.Node, Desc: "device node"}
		return stats
	}
	latency := &plugins.StatValue{Kind: plugins.AttributeInt, Int: s.probes[d.ID].Latency.Milliseconds(), Unit: "ms", Desc: "RTSP OPTIONS latency"}
	attrs["rtsp_options_latency"] = latency
	stats.Summary = latency
	return stats
}
