package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Env returns the environment variables that point the nomad CLI at this
// cluster.
func (c *Cluster) Env() []string {
	return []string{"NOMAD_ADDR=" + c.Server.Address}
}

// Command returns a nomad CLI command aimed at this cluster's server, as a
// user would run it with NOMAD_ADDR set.
func (c *Cluster) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Nomad, args...)
	cmd.Env = append(agentEnv(), c.Env()...)
	return cmd
}

// Run runs a nomad CLI command against this cluster and returns its
// standard output. The error includes the command and its standard error.
func (c *Cluster) Run(ctx context.Context, args ...string) (string, error) {
	cmd := c.Command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("nomad %s: %w: %s%s", strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()), strings.TrimSpace(stdout.String()))
	}
	return stdout.String(), nil
}

// ClientByNode returns the client agent registered under a node id or node
// name, or nil.
func (c *Cluster) ClientByNode(idOrName string) *Agent {
	for _, agent := range c.Clients {
		if agent.NodeID == idOrName || agent.Name == idOrName {
			return agent
		}
	}
	return nil
}

// StopHint returns the shell commands that purge job and stop a cluster left
// running.
func (c *Cluster) StopHint(job string) string {
	var pids []string
	for _, agent := range c.agents() {
		if agent.cmd != nil && agent.cmd.Process != nil {
			pids = append(pids, fmt.Sprint(agent.cmd.Process.Pid))
		}
	}
	return fmt.Sprintf("NOMAD_ADDR=%s %s job stop -purge %s; kill -INT %s; "+
		"awk '$2 ~ \"^%s/\" {print $2}' /proc/mounts | sort -r | xargs -r umount -l; rm -rf %s",
		c.Server.Address, c.Nomad, job, strings.Join(pids, " "), c.Dir, c.Dir)
}
