package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
)

// Labels the video driver puts on every container it creates.
const (
	labelNodeID  = "com.ferry-video.node_id"
	labelAllocID = "com.ferry-video.alloc_id"
	labelTaskID  = "com.ferry-video.task_id"
)

// listContainers returns the containers, running or not, with label=value.
func listContainers(ctx context.Context, docker *client.Client, label, value string) ([]container.Summary, error) {
	list, err := docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", label+"="+value)),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers with label %s=%q: %w", label, value, err)
	}
	return list, nil
}

// taskContainer returns the only container of taskID and how many there
// are. With none, the returned ID is empty.
func taskContainer(ctx context.Context, docker *client.Client, taskID string) (container.InspectResponse, int, error) {
	list, err := listContainers(ctx, docker, labelTaskID, taskID)
	if err != nil || len(list) == 0 {
		return container.InspectResponse{}, 0, err
	}
	info, err := docker.ContainerInspect(ctx, list[0].ID)
	if err != nil {
		return container.InspectResponse{}, len(list), fmt.Errorf("inspect container %q of task %q: %w", list[0].ID, taskID, err)
	}
	return info, len(list), nil
}

// containerStdout returns what the container printed on stdout, from the
// daemon's own log.
func containerStdout(ctx context.Context, docker *client.Client, id string) ([]byte, error) {
	rc, err := docker.ContainerLogs(ctx, id, container.LogsOptions{ShowStdout: true})
	if err != nil {
		return nil, fmt.Errorf("read logs of container %q: %w", id, err)
	}
	defer rc.Close()
	var stdout bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &bytes.Buffer{}, rc); err != nil {
		return nil, fmt.Errorf("read logs of container %q: %w", id, err)
	}
	return stdout.Bytes(), nil
}

// compareLines counts the numbered lines "line N" that printed contains
// more often than written, and those that written contains more often than
// printed. A container that restarts prints each number again.
func compareLines(printed, written []byte) (lost, duplicated int) {
	lost, _, duplicated = compareLinesDropping(printed, written, 1, 0)
	return lost, duplicated
}

// compareLinesDropping counts as compareLines does, but counts a missing
// line numbered from dropFrom to dropTo as dropped, not lost.
func compareLinesDropping(printed, written []byte, dropFrom, dropTo int) (lost, dropped, duplicated int) {
	want, got := numberedLines(printed), numberedLines(written)
	for n, count := range want {
		missing := max(count-got[n], 0)
		if n >= dropFrom && n <= dropTo {
			dropped += missing
		} else {
			lost += missing
		}
	}
	for n, count := range got {
		duplicated += max(count-want[n], 0)
	}
	return lost, dropped, duplicated
}

func numberedLines(data []byte) map[int]int {
	counts := make(map[int]int)
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		rest, ok := strings.CutPrefix(scanner.Text(), "line ")
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil {
			counts[n]++
		}
	}
	return counts
}

// removeStrays waits up to grace for the driver to remove containers of
// this run's node, then counts and removes those left.
func (s *suite) removeStrays(ctx context.Context, docker *client.Client, grace time.Duration) (int, error) {
	deadline := time.Now().Add(grace)
	for {
		list, err := listContainers(ctx, docker, labelNodeID, s.nodeID)
		if err != nil {
			return 0, err
		}
		if len(list) == 0 {
			return 0, nil
		}
		if time.Now().Before(deadline) {
			time.Sleep(time.Second)
			continue
		}
		for _, c := range list {
			s.logger.Warn("removing stray container", "container_id", c.ID, "task_id", c.Labels[labelTaskID], "state", c.State)
			err := docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
			if err != nil && !client.IsErrNotFound(err) {
				return len(list), fmt.Errorf("remove stray container %q: %w", c.ID, err)
			}
		}
		return len(list), nil
	}
}
