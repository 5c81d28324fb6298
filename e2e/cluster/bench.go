package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// PID returns the agent's process id, or 0 when it was never started.
func (a *Agent) PID() int {
	if a == nil || a.cmd == nil || a.cmd.Process == nil {
		return 0
	}
	return a.cmd.Process.Pid
}

// RestartClient stops the named client agent, passes its configuration
// file's text through edit, starts it again on the result and waits until
// every client is ready with a healthy video driver and the restarted agent
// has launched its video plugin. Video plugin processes that outlive the
// stopped agent are killed first, so that the restarted agent owns the
// only plugin process of that client.
func (c *Cluster) RestartClient(ctx context.Context, name string, edit func(hcl string) (string, error)) error {
	index := -1
	for i, agent := range c.Clients {
		if agent.Name == name {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("restart client %q: no such client", name)
	}
	old := c.Clients[index]

	configPath := filepath.Join(old.Dir, "agent.hcl")
	current, err := os.ReadFile(configPath)
	if err != nil {
		return fmt.Errorf("restart client %q: %w", name, err)
	}
	edited, err := edit(string(current))
	if err != nil {
		return fmt.Errorf("restart client %q: edit configuration: %w", name, err)
	}

	if err := old.stop(); err != nil {
		return fmt.Errorf("restart client %q: %w", name, err)
	}
	if err := killPluginsOf(old); err != nil {
		return fmt.Errorf("restart client %q: %w", name, err)
	}

	agent, err := c.launch(name, old.Dir, edited)
	if err != nil {
		return err
	}
	agent.Address = old.Address
	agent.CameraRoot = old.CameraRoot
	agent.PluginDir = old.PluginDir
	c.Clients[index] = agent

	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The servers keep reporting the node as ready from before the
	// restart, so the plugin process is the sign that the new agent runs.
	err = Poll(waitCtx, fmt.Sprintf("client %q to launch its video plugin", name), func(context.Context) (bool, error) {
		if err := c.exited(); err != nil {
			return false, err
		}
		pids, err := agent.PluginPIDs()
		return len(pids) > 0, err
	})
	if err != nil {
		return c.withLogs(err)
	}
	return c.waitReady(waitCtx)
}

func killPluginsOf(agent *Agent) error {
	pids, err := agent.PluginPIDs()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill video plugin pid %d: %w", pid, err))
		}
	}
	return errors.Join(errs...)
}

// ParseJob converts HCL jobspec text into the JSON job that the register
// endpoint takes, with variables given in HCL variable-file syntax
// ("name = \"value\"" lines).
func (c *Client) ParseJob(ctx context.Context, hcl, variables string) (map[string]any, error) {
	request := map[string]any{"JobHCL": hcl, "Canonicalize": true, "Variables": variables}
	var job map[string]any
	if err := c.send(ctx, http.MethodPost, "/v1/jobs/parse", request, &job); err != nil {
		return nil, err
	}
	return job, nil
}

// RegisterJob submits a JSON job, as ParseJob returns it, and returns the
// evaluation id.
func (c *Client) RegisterJob(ctx context.Context, job map[string]any) (string, error) {
	var response struct{ EvalID string }
	if err := c.send(ctx, http.MethodPost, "/v1/jobs", map[string]any{"Job": job}, &response); err != nil {
		return "", err
	}
	return response.EvalID, nil
}
