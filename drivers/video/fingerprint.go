package video

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/ferry-video/ferry/plugins"
)

// dockerPingTimeout bounds the Docker version request of one fingerprint.
const dockerPingTimeout = 5 * time.Second

// Fingerprint attribute names.
const (
	attrVersion       = "driver.video.version"
	attrCameras       = "driver.video.cameras"
	attrRecordings    = "driver.video.recordings"
	attrCameraPrefix  = "driver.video.camera."
	healthyDesc       = "Healthy"
	dockerUnreachable = "Docker is unreachable"
)

// Fingerprint sends the driver's health and attributes at once, then after
// each fingerprint_period only if they changed. While Docker is reachable,
// each period also runs the orphan sweep.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *plugins.Fingerprint, error) {
	out := make(chan *plugins.Fingerprint, 1)
	go d.fingerprintLoop(ctx, out)
	return out, nil
}

func (d *Driver) fingerprintLoop(ctx context.Context, out chan<- *plugins.Fingerprint) {
	defer close(out)
	plugin, _ := d.state()
	t := d.clock.NewTicker(plugin.fingerprintPeriod)
	defer t.Stop()
	watch := &dockerWatch{d: d, backoff: reconnectBackoff{min: reconnectMinDelay, max: plugin.fingerprintPeriod}}

	var last *plugins.Fingerprint
	published := map[string]bool{}
	for {
		fp := d.fingerprint(ctx)
		retry := watch.observe(fp, plugin.Endpoint)
		if fp.Health == plugins.HealthHealthy {
			d.sweepOrphans(ctx)
		}
		if last == nil || !reflect.DeepEqual(fp, last) {
			sent := withCameraDeletions(fp, published)
			select {
			case out <- sent:
				last = fp
			case <-ctx.Done():
				return
			}
		}

		// While Docker is unreachable, the backoff paces the attempts
		// in place of the ticker.
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-retry:
		}
	}
}

// fingerprint builds one fingerprint from Docker's version and a rescan of
// camera storage.
func (d *Driver) fingerprint(ctx context.Context) *plugins.Fingerprint {
	_, docker := d.state()
	pingCtx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	version, err := docker.ServerVersion(pingCtx)
	if err != nil {
		// The reason goes in the description and not in Err, because
		// Nomad shows "failed to fingerprint driver" for any Err and
		// drops the description.
		return &plugins.Fingerprint{
			Health:      plugins.HealthUnhealthy,
			Description: fmt.Sprintf("%s: %v", dockerUnreachable, err),
			Attributes:  map[string]plugins.Attribute{},
		}
	}

	snap, err := d.scanInventory()
	if err != nil {
		d.logger.Warn("camera storage scan incomplete", "error", err)
	}
	attrs := cameraAttributes(snap)
	attrs[attrVersion] = plugins.StringAttribute(version.Version)
	addAcceleratorAttributes(attrs, d.host)
	return &plugins.Fingerprint{Health: plugins.HealthHealthy, Description: healthyDesc, Attributes: attrs}
}

// withCameraDeletions returns fp plus an empty value for each camera
// attribute that an earlier fingerprint published and fp lacks, because
// Nomad keeps an attribute that is merely left out and deletes one sent
// empty. It updates published, the camera attribute keys now on the node.
// An unhealthy fingerprint carries no camera attributes, so it deletes
// nothing.
func withCameraDeletions(fp *plugins.Fingerprint, published map[string]bool) *plugins.Fingerprint {
	if fp.Health != plugins.HealthHealthy {
		return fp
	}
	sent := *fp
	sent.Attributes = make(map[string]plugins.Attribute, len(fp.Attributes))
	for key, attr := range fp.Attributes {
		sent.Attributes[key] = attr
	}
	for key := range published {
		if _, ok := fp.Attributes[key]; !ok {
			sent.Attributes[key] = plugins.StringAttribute("")
			delete(published, key)
		}
	}
	for key := range fp.Attributes {
		if strings.HasPrefix(key, attrCameraPrefix) {
			published[key] = true
		}
	}
	return &sent
}

// cameraAttributes returns the per-camera byte counts, the sorted camera
// list and the total number of recordings. Cameras appear under their
// inventory.SanitizeID, the id the registrar publishes and tasks may name.
func cameraAttributes(snap inventory.Snapshot) map[string]plugins.Attribute {
	attrs := make(map[string]plugins.Attribute, len(snap.Cameras)+3)
	total := 0
	for _, cam := range snap.Cameras {
		attrs[attrCameraPrefix+sanitizeAttributeKey(inventory.SanitizeID(cam.ID))] = plugins.IntAttribute(cam.Bytes, "B")
		total += cam.Recordings
	}
	attrs[attrCameras] = plugins.StringAttribute(strings.Join(snap.SanitizedIDs(), ","))
	attrs[attrRecordings] = plugins.IntAttribute(int64(total), "")
	return attrs
}

// sanitizeAttributeKey replaces every character other than ASCII letters,
// digits, '-' and '_' with '_', so that a camera id is one attribute key
// segment.
func sanitizeAttributeKey(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, id)
}

// scanInventory rescans camera storage and logs when the number of files
// that are not recordings changes.
func (d *Driver) scanInventory() (inventory.Snapshot, error) {
	d.mu.RLock()
	inv := d.inventory
	d.mu.RUnlock()

	d.inventoryMu.Lock()
	defer d.inventoryMu.Unlock()
	snap, err := inv.Rescan()
	if snap.Skipped != d.skippedFiles {
		d.skippedFiles = snap.Skipped
		if snap.Skipped > 0 {
			d.logger.Warn("skipped files in camera storage that are not video recordings", "count", snap.Skipped, "first_files", snap.SkippedFiles)
		}
	}
	return snap, err
}
