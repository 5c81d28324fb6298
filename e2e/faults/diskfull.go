package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-video/ferry/plugins/harness"
)

const (
	// diskFullSize is the size of the tmpfs under the full folder.
	diskFullSize = "256k"
	// diskFullEventTimeout bounds the wait for the driver's task events
	// and for log lines after space is freed.
	diskFullEventTimeout = 20 * time.Second
	// logPositionFile is the file in the task dir where the driver stores
	// how far it copied the task's logs.
	logPositionFile = ".video-log-position.json"
)

// noisyCounterScript prints counterScript's lines, each followed by a line
// of 200 bytes, so that a log file outgrows the free part of its last tmpfs
// page within a second.
var noisyCounterScript = "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo line $i; echo " +
	strings.Repeat("x", 200) + "; sleep 0.05; done"

// diskFullFault is which folder fills up and when.
type diskFullFault struct {
	// logs puts alloc/logs on the tmpfs. Otherwise the task dir, where the
	// driver keeps its log position, is on it.
	logs bool
	// delay is the time from the task's start to the fill.
	delay time.Duration
	// hold is how long the disk stays full.
	hold time.Duration
}

// runDiskFullScenario fills a tmpfs under a task's log files or under its
// log position file while the task writes logs, frees it again, restarts
// the plugin and checks the task's logs.
func runDiskFullScenario(ctx context.Context, s *suite, rounds int) (int, error) {
	faults := make([]diskFullFault, rounds)
	for i := range faults {
		faults[i] = diskFullFault{
			logs:  s.rng.Intn(2) == 0,
			delay: s.randomDelay(time.Second),
			hold:  500*time.Millisecond + s.randomDelay(2*time.Second),
		}
	}
	return s.diskFullRounds(ctx, faults)
}

func (s *suite) diskFullRounds(ctx context.Context, faults []diskFullFault) (int, error) {
	p, err := s.launchPlugin(ctx, pluginOptions{taskExtra: "network_mode = \"none\"\n"})
	if err != nil {
		return 0, err
	}
	defer p.Close()
	p.script = noisyCounterScript
	done := 0
	for _, fault := range faults {
		if s.expired() || ctx.Err() != nil {
			break
		}
		if err := s.diskFullRound(ctx, p, fault); err != nil {
			return done, err
		}
		done++
	}
	strays, err := s.removeStrays(context.WithoutCancel(ctx), s.docker, strayGrace)
	s.report.StrayContainers += strays
	return done, err
}

// diskFullRound runs one task with the folder of fault on a tmpfs that the
// round mounts and unmounts.
func (s *suite) diskFullRound(ctx context.Context, p *plugin, fault diskFullFault) (err error) {
	alloc, cfg, err := s.newTaskConfig(ctx, p, "diskfull")
	if err != nil {
		return err
	}
	dir := filepath.Join(alloc.Dir, cfg.Name)
	if fault.logs {
		dir = filepath.Join(alloc.Dir, "alloc", "logs")
	}
	if err := mountTmpfs(dir); err != nil {
		alloc.Close()
		return err
	}
	defer func() {
		if uerr := syscall.Unmount(dir, syscall.MNT_DETACH); uerr != nil {
			err = errors.Join(err, fmt.Errorf("unmount tmpfs on %s: %w", dir, uerr))
		}
	}()
	if !fault.logs {
		for _, sub := range []string{"local", "secrets", "tmp"} {
			if err := os.Mkdir(filepath.Join(dir, sub), 0o777); err != nil {
				alloc.Close()
				return err
			}
		}
	}

	events, stopEvents, err := openEvents(ctx, p, cfg.ID)
	if err != nil {
		alloc.Close()
		return err
	}
	defer stopEvents()
	rctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	handle, _, err := p.Driver.StartTask(rctx, cfg)
	cancel()
	if err != nil {
		alloc.Close()
		return fmt.Errorf("StartTask %q: %w", cfg.ID, err)
	}
	t := &task{alloc: alloc, cfg: cfg, handle: handle}
	if err := s.recordStart(ctx, t); err != nil {
		return err
	}
	if err := s.fillAndFree(ctx, t, dir, fault, events); err != nil {
		return err
	}
	s.checkPositionFile(t)

	// A restart while saves fail copies the lines since the last saved
	// position again, as the driver's event states, so the plugin restarts
	// only after a save succeeded. Then it must neither lose nor repeat a
	// line.
	if err := p.crash(ctx); err != nil {
		return fmt.Errorf("relaunch plugin: %w", err)
	}
	running, err := s.recoverTasks(ctx, p, s.docker, []*task{t})
	if err != nil || len(running) == 0 {
		return err
	}
	if _, err := s.waitLogLine(ctx, t); err != nil {
		return err
	}
	return s.finishTask(ctx, p, s.docker, t)
}

// fillAndFree fills dir after fault.delay, waits for the driver's event,
// frees the space after fault.hold and waits until the task's logs and
// its log position are written again.
func (s *suite) fillAndFree(ctx context.Context, t *task, dir string, fault diskFullFault, events <-chan string) error {
	time.Sleep(fault.delay)
	written, err := s.lastWrittenLine(t)
	if err != nil {
		return err
	}
	filler := filepath.Join(dir, "filler")
	if err := fillDisk(filler); err != nil {
		return err
	}
	want := "failed to save log position: no space left on device"
	if fault.logs {
		want = "failed to write task logs: no space left on device"
	}
	// The driver writes its log position to a new file and renames it over
	// the old one, which frees the old file's page. Filling again until
	// the event arrives takes that page too.
	refill := func() error { return fillDisk(filler) }
	if !waitEvent(events, want, diskFullEventTimeout, refill) {
		s.logger.Error("no task event for a full disk", "task_id", t.cfg.ID, "want", want)
		s.report.DiskFullEventsMissing++
	}
	time.Sleep(fault.hold)
	if err := os.Remove(filler); err != nil {
		return fmt.Errorf("free the tmpfs on %s: %w", dir, err)
	}

	if !fault.logs {
		if !waitEvent(events, "saved log position again", diskFullEventTimeout, nil) {
			s.logger.Error("no task event for the log position saved again", "task_id", t.cfg.ID)
			s.report.DiskFullEventsMissing++
		}
		return nil
	}
	// Lines after the last one written before the fill, up to the first
	// one written after the space was freed, may be dropped.
	last, err := s.waitLogLine(ctx, t)
	t.dropFrom, t.dropTo = written+1, last
	return err
}

// openEvents streams the plugin's task events of taskID until the returned
// function is called or the plugin exits.
func openEvents(ctx context.Context, p *plugin, taskID string) (<-chan string, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	stream, err := p.Driver.TaskEvents(ctx)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("TaskEvents: %w", err)
	}
	events := make(chan string, 64)
	go func() {
		for {
			ev, err := stream.Recv()
			if err != nil {
				return
			}
			if ev.TaskID == taskID {
				select {
				case events <- ev.Message:
				default:
				}
			}
		}
	}()
	return events, cancel, nil
}

// waitEvent reports whether an event starting with prefix arrives within
// timeout, calling poll, unless nil, every 100 ms while it waits.
func waitEvent(events <-chan string, prefix string, timeout time.Duration, poll func() error) bool {
	deadline := time.After(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case msg := <-events:
			if strings.HasPrefix(msg, prefix) {
				return true
			}
		case <-tick.C:
			if poll != nil {
				poll()
			}
		case <-deadline:
			return false
		}
	}
}

// mountTmpfs mounts a tmpfs of diskFullSize on dir.
func mountTmpfs(dir string) error {
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+diskFullSize); err != nil {
		return fmt.Errorf("mount a %s tmpfs on %s (the diskfull scenario needs root): %w", diskFullSize, dir, err)
	}
	return nil
}

// fillDisk appends to path until its file system is full.
func fillDisk(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	block := make([]byte, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return fmt.Errorf("fill %s: %w", path, err)
		}
	}
}

// lastWrittenLine returns the highest line number in the task's log files.
func (s *suite) lastWrittenLine(t *task) (int, error) {
	written, err := harness.ReadRotatedLogs(filepath.Join(t.alloc.Dir, "alloc", "logs"), t.cfg.Name, "stdout")
	if err != nil {
		return 0, err
	}
	return maxLine(written), nil
}

// waitLogLine waits until the log files hold a line that the container
// printed after this call began, and returns the highest line number in
// them.
func (s *suite) waitLogLine(ctx context.Context, t *task) (int, error) {
	printed, err := s.lastPrintedLine(ctx, t)
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(diskFullEventTimeout)
	for {
		last, err := s.lastWrittenLine(t)
		if err != nil || last > printed {
			return last, err
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("task %q wrote no log line after line %d within %s", t.cfg.ID, printed, diskFullEventTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lastPrintedLine returns the highest line number that the task's
// container printed, from the daemon's log.
func (s *suite) lastPrintedLine(ctx context.Context, t *task) (int, error) {
	info, _, err := taskContainer(ctx, s.docker, t.cfg.ID)
	if err != nil {
		return 0, err
	}
	printed, err := containerStdout(ctx, s.docker, info.ID)
	if err != nil {
		return 0, err
	}
	return maxLine(printed), nil
}

// checkPositionFile counts the task's log position file as corrupt unless
// it parses.
func (s *suite) checkPositionFile(t *task) {
	path := filepath.Join(t.alloc.Dir, t.cfg.Name, logPositionFile)
	data, err := os.ReadFile(path)
	var position map[string]any
	if err == nil {
		err = json.Unmarshal(data, &position)
	}
	if err != nil {
		s.logger.Error("log position file is corrupt after a full disk", "task_id", t.cfg.ID, "path", path, "error", err)
		s.report.StateFilesCorrupt++
	}
}
