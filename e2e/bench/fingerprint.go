package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// aviHeader is the start of a RIFF AVI file, enough for the inventory to
// count the file as a recording.
var aviHeader = []byte("RIFF\x10\x00\x00\x00AVI LIST")

// fingerprintCost is the video plugin's CPU time per fingerprint period,
// with empty camera storage and with the recordings in place. Each period
// requests Docker's version and rescans camera storage.
type fingerprintCost struct {
	Cameras         int     `json:"cameras"`
	Recordings      int     `json:"recordings"`
	PeriodSeconds   float64 `json:"period_s"`
	Periods         int     `json:"periods"`
	EmptyCPUMs      float64 `json:"empty_cpu_ms_per_period"`
	RecordingsCPUMs float64 `json:"recordings_cpu_ms_per_period"`
}

// measureFingerprint restarts the client with a short fingerprint_period,
// measures the plugin's CPU time over the periods with empty storage, then
// writes the recordings and measures again once the node reports them.
func (b *bench) measureFingerprint(ctx context.Context) (*fingerprintCost, error) {
	result := &fingerprintCost{
		Cameras:       b.opts.Cameras,
		Recordings:    b.opts.Recordings,
		PeriodSeconds: b.opts.Period.Seconds(),
		Periods:       b.opts.Periods,
	}
	b.logger.Info("restarting client with a short fingerprint period", "period", b.opts.Period)
	err := b.cluster.RestartClient(ctx, clientName, func(hcl string) (string, error) {
		const anchor = "camera_storage = ["
		if !strings.Contains(hcl, anchor) {
			return "", fmt.Errorf("client configuration has no %q line to put fingerprint_period before", anchor)
		}
		period := fmt.Sprintf("fingerprint_period = %q\n    %s", b.opts.Period.String(), anchor)
		return strings.Replace(hcl, anchor, period, 1), nil
	})
	if err != nil {
		return nil, err
	}

	if result.EmptyCPUMs, err = b.cpuPerPeriod(ctx); err != nil {
		return nil, err
	}
	agent := b.cluster.Clients[0]
	if err := writeRecordings(agent.CameraRoot, b.opts.Cameras, b.opts.Recordings); err != nil {
		return nil, err
	}
	if err := b.waitRecordings(ctx, b.opts.Recordings); err != nil {
		return nil, err
	}
	if result.RecordingsCPUMs, err = b.cpuPerPeriod(ctx); err != nil {
		return nil, err
	}
	return result, nil
}

// cpuPerPeriod waits for the plugin to settle and returns its CPU time in
// milliseconds over the configured periods, divided by their number.
func (b *bench) cpuPerPeriod(ctx context.Context) (float64, error) {
	// Nomad launches a plugin once to read its info and stops it, then
	// launches the long-lived one, so the process id is read after the
	// pause.
	if err := pause(ctx, b.opts.Settle); err != nil {
		return 0, err
	}
	pid, err := pluginPID(b.cluster.Clients[0])
	if err != nil {
		return 0, err
	}
	start, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	if err := pause(ctx, time.Duration(b.opts.Periods)*b.opts.Period); err != nil {
		return 0, err
	}
	end, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	return round3((end - start) * 1000 / float64(b.opts.Periods)), nil
}

// writeRecordings spreads count small AVI files over the camera folders
// cam-00, cam-01, … under root.
func writeRecordings(root string, cameras, count int) error {
	for i := 0; i < count; i++ {
		dir := filepath.Join(root, fmt.Sprintf("cam-%02d", i%cameras))
		if i < cameras {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("write recordings: %w", err)
			}
		}
		path := filepath.Join(dir, fmt.Sprintf("rec-%05d.avi", i))
		if err := os.WriteFile(path, aviHeader, 0o644); err != nil {
			return fmt.Errorf("write recordings: %w", err)
		}
	}
	return nil
}

// waitRecordings waits until the node's video driver reports count
// recordings.
func (b *bench) waitRecordings(ctx context.Context, count int) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	agent := b.cluster.Clients[0]
	want := strconv.Itoa(count)
	var got string
	err := cluster.Poll(ctx, "the node to report "+want+" recordings", func(ctx context.Context) (bool, error) {
		node, err := b.cluster.API.Node(ctx, agent.NodeID)
		if err != nil {
			return false, err
		}
		got = node.Drivers[videoDriver].Attributes["driver.video.recordings"]
		return got == want, nil
	})
	if err != nil {
		return fmt.Errorf("%w (driver.video.recordings = %q)", err, got)
	}
	return nil
}
