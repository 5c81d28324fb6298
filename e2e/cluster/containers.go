package cluster

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// nodeLabel is the container label through which the video driver ties a
// container to the Nomad node that started it.
const nodeLabel = "com.ferry-video.node_id"

// nodeIDs returns the ids of the cluster's nodes, or nil when the server no
// longer responds.
func (c *Cluster) nodeIDs() []string {
	if c.API == nil || c.exited() != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := c.API.Nodes(ctx)
	if err != nil {
		return nil
	}
	ids := make([]string, 0, len(nodes))
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	return ids
}

// removeContainers force-removes the containers the video driver started
// for the given nodes. Stop calls it last, because agents stopped while a
// task runs leave its container behind, as Nomad intends for a client
// restart, and a cluster that is torn down has no client to come back.
func removeContainers(nodeIDs []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var errs []error
	for _, id := range nodeIDs {
		out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+nodeLabel+"="+id).Output()
		if err != nil {
			errs = append(errs, fmt.Errorf("list containers of node %q: %w", id, err))
			continue
		}
		containers := strings.Fields(string(out))
		if len(containers) == 0 {
			continue
		}
		args := append([]string{"rm", "-f"}, containers...)
		if out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("remove containers of node %q: %w: %s", id, err, strings.TrimSpace(string(out))))
		}
	}
	return errors.Join(errs...)
}
