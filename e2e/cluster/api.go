package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Client calls a Nomad agent's HTTP API. It covers only the endpoints that
// the end-to-end suite and the demo read.
type Client struct {
	Address string
	HTTP    *http.Client
}

// Node is the part of a Nomad node that ferry's tests read.
type Node struct {
	ID         string
	Name       string
	Status     string
	Attributes map[string]string
	Drivers    map[string]DriverInfo
}

// DriverInfo is a task driver's fingerprint state on a node.
type DriverInfo struct {
	Detected          bool
	Healthy           bool
	HealthDescription string
	Attributes        map[string]string
}

// Allocation is the part of a Nomad allocation that ferry's tests read.
type Allocation struct {
	ID            string
	JobID         string
	TaskGroup     string
	NodeID        string
	NodeName      string
	ClientStatus  string
	DesiredStatus string
	TaskStates    map[string]TaskState
}

// TaskState is a task's state within an allocation.
type TaskState struct {
	State    string
	Failed   bool
	Restarts uint64
	Events   []TaskEvent
}

// TaskEvent is one entry of a task's event history.
type TaskEvent struct {
	Type           string
	Time           int64
	DisplayMessage string
	ExitCode       int
	Details        map[string]string
}

// Job is the part of a Nomad job that ferry's tests read.
type Job struct {
	ID         string
	Type       string
	Status     string
	TaskGroups []TaskGroup
}

// TaskGroup is the part of a job's task group that ferry's tests read.
type TaskGroup struct {
	Name string
	Meta map[string]string
}

// groupMeta returns a meta value of the named task group, or "".
func (j Job) groupMeta(group, key string) string {
	for _, tg := range j.TaskGroups {
		if tg.Name == group {
			return tg.Meta[key]
		}
	}
	return ""
}

// Leader returns the RPC address of the cluster's leader, or "" when the
// cluster has none yet.
func (c *Client) Leader(ctx context.Context) (string, error) {
	var leader string
	err := c.get(ctx, "/v1/status/leader", &leader)
	return leader, err
}

// Nodes returns every client node registered with the servers.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var nodes []Node
	err := c.get(ctx, "/v1/nodes", &nodes)
	return nodes, err
}

// Node returns one node with its attributes.
func (c *Client) Node(ctx context.Context, id string) (Node, error) {
	var node Node
	err := c.get(ctx, "/v1/node/"+url.PathEscape(id), &node)
	return node, err
}

// Jobs returns every registered job.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var jobs []Job
	err := c.get(ctx, "/v1/jobs", &jobs)
	return jobs, err
}

// Job returns one job with its task groups.
func (c *Client) Job(ctx context.Context, id string) (Job, error) {
	var job Job
	err := c.get(ctx, "/v1/job/"+url.PathEscape(id), &job)
	return job, err
}

// JobAllocations returns the allocations of a job, including finished ones.
func (c *Client) JobAllocations(ctx context.Context, jobID string) ([]Allocation, error) {
	var allocs []Allocation
	err := c.get(ctx, "/v1/job/"+url.PathEscape(jobID)+"/allocations?all=true", &allocs)
	return allocs, err
}

// Allocation returns one allocation with its task states.
func (c *Client) Allocation(ctx context.Context, id string) (Allocation, error) {
	var alloc Allocation
	err := c.get(ctx, "/v1/allocation/"+url.PathEscape(id), &alloc)
	return alloc, err
}

// Deployment is a job's rollout, as Nomad's deployment API returns it.
type Deployment struct {
	ID                string
	Status            string
	StatusDescription string
}

// LatestDeployment returns the job's most recent deployment. Its ID is
// empty when the job has had none.
func (c *Client) LatestDeployment(ctx context.Context, jobID string) (Deployment, error) {
	var d *Deployment
	err := c.get(ctx, "/v1/job/"+url.PathEscape(jobID)+"/deployment", &d)
	if d == nil {
		return Deployment{}, err
	}
	return *d, err
}

// StopJob deregisters a job and, with purge, removes it from the state.
func (c *Client) StopJob(ctx context.Context, jobID string, purge bool) error {
	path := "/v1/job/" + url.PathEscape(jobID)
	if purge {
		path += "?purge=true"
	}
	return c.send(ctx, http.MethodDelete, path, nil, nil)
}

func (c *Client) get(ctx context.Context, path string, out any) error {
	return c.send(ctx, http.MethodGet, path, nil, out)
}

// send calls the API, with in as the JSON request body unless it is nil,
// and decodes the response into out unless out is nil.
func (c *Client) send(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("nomad api %s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Address+path, body)
	if err != nil {
		return fmt.Errorf("nomad api %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("nomad api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("nomad api %s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("nomad api %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("nomad api %s %s: decode response: %w", method, path, err)
	}
	return nil
}
