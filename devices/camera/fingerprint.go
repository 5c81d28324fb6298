package camera

import (
	"context"
	"os"
	"reflect"
	"sync"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// scan is the state of the node's cameras at one time.
type scan struct {
	config *Config
	local  []localCamera
	// localHealth and probes are keyed by camera id.
	localHealth map[string]probeResult
	probes      map[string]probeResult
	// recordings are the ids of cameras whose recordings the node holds.
	recordings map[string]bool
	// formats are the capture formats local cameras report, keyed by id.
	formats map[string]reportedFormat
	// unmatched are the match values of local_camera blocks that match
	// no local camera.
	unmatched []string
	at        time.Time
}

// scanLocal lists the V4L2 cameras of s.config, reads their capture
// formats and reports local_camera blocks that match none of them.
func (p *Plugin) scanLocal(s *scan) {
	local, err := scanSysfs(s.config.SysfsRoot, s.config.DevRoot, p.canCapture)
	if err != nil {
		p.logger.Warn("V4L2 scan incomplete", "error", err)
	}
	s.local = local
	s.formats = readFormats(p.logger, p.formats, local)
	s.unmatched = unmatchedLocalCameras(s.config, local)
	p.reportUnmatched(s.config, s.unmatched)
}

// Fingerprint sends the camera groups at once, then after each
// fingerprint_period only if a camera or its health changed.
func (p *Plugin) Fingerprint(ctx context.Context) (<-chan *plugins.DeviceFingerprint, error) {
	out := make(chan *plugins.DeviceFingerprint, 1)
	go p.fingerprintLoop(ctx, out)
	return out, nil
}

func (p *Plugin) fingerprintLoop(ctx context.Context, out chan<- *plugins.DeviceFingerprint) {
	defer close(out)
	t := p.clock.NewTicker(p.currentConfig().fingerprintPeriod)
	defer t.Stop()

	var last []*plugins.DeviceGroup
	for {
		s := p.scan(ctx)
		groups := buildGroups(s)
		if last == nil || !reflect.DeepEqual(groups, last) {
			p.logHealthChanges(last, groups)
			select {
			case out <- &plugins.DeviceFingerprint{Groups: groups}:
				last = groups
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

// scan rescans sysfs and camera storage, probes every IP camera in
// parallel, and stores the result for Reserve and Stats.
func (p *Plugin) scan(ctx context.Context) *scan {
	p.mu.Lock()
	cfg, inv := p.config, p.inventory
	p.mu.Unlock()

	s := &scan{config: cfg, at: p.clock.Now(), recordings: map[string]bool{}}
	p.scanLocal(s)
	s.localHealth = localHealth(s.local)
	s.probes = p.probeAll(ctx, cfg)

	p.inventoryMu.Lock()
	snap, err := inv.Rescan()
	p.inventoryMu.Unlock()
	if err != nil {
		p.logger.Warn("camera storage scan incomplete", "error", err)
	}
	for _, cam := range snap.Cameras {
		if cam.Recordings > 0 {
			s.recordings[cam.ID] = true
		}
	}

	p.mu.Lock()
	if p.config == cfg {
		p.last = s
	}
	p.mu.Unlock()
	return s
}

// localHealth checks that each camera's device node is a character device.
func localHealth(cams []localCamera) map[string]probeResult {
	health := make(map[string]probeResult, len(cams))
	for _, cam := range cams {
		info, err := os.Stat(cam.Node)
		switch {
		case err != nil:
			health[cam.ID] = probeResult{Description: "device node " + cam.Node + " missing"}
		case info.Mode()&os.ModeCharDevice == 0:
			health[cam.ID] = probeResult{Description: cam.Node + " is not a character device"}
		default:
			health[cam.ID] = probeResult{Healthy: true, Description: "V4L2 capture device " + cam.Node}
		}
	}
	return health
}

func (p *Plugin) probeAll(ctx context.Context, cfg *Config) map[string]probeResult {
	results := make([]probeResult, len(cfg.IPCameras))
	var wg sync.WaitGroup
	for i, cam := range cfg.IPCameras {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = p.probe(ctx, cam.probeAddr, cam.RTSPURL, cfg.probeTimeout)
		}()
	}
	wg.Wait()

	probes := make(map[string]probeResult, len(results))
	for i, cam := range cfg.IPCameras {
		probes[cam.ID] = results[i]
	}
	return probes
}

// logHealthChanges logs each device whose health differs from the last
// fingerprint, so that an operator sees when a camera goes down.
func (p *Plugin) logHealthChanges(last, next []*plugins.DeviceGroup) {
	before := make(map[string]bool)
	for _, g := range last {
		for _, d := range g.Devices {
			before[d.ID] = d.Healthy
		}
	}
	for _, g := range next {
		for _, d := range g.Devices {
			was, known := before[d.ID]
			if known && was == d.Healthy {
				continue
			}
			if d.Healthy {
				p.logger.Info("camera healthy", "camera_id", d.ID, "group", g.Name, "description", d.HealthDescription)
			} else {
				p.logger.Warn("camera unhealthy", "camera_id", d.ID, "group", g.Name, "description", d.HealthDescription)
			}
		}
	}
}
