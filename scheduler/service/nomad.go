package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ferry-video/ferry/scheduler/nodemeta"
	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/hashicorp/nomad/api"
)

// Cluster is the part of Nomad that the service reads and writes.
// NomadCluster implements it over Nomad's HTTP API.
type Cluster interface {
	// Nodes returns every client node with its metadata, and the same
	// nodes as placement input, identified by node name.
	Nodes(ctx context.Context) ([]nodemeta.Node, []placement.Node, error)
	// ApplyMeta sends node metadata changes.
	ApplyMeta(ctx context.Context, changes []nodemeta.Change) error
	// TemplateJobs returns every job whose metadata has MetaSelector.
	TemplateJobs(ctx context.Context) ([]*api.Job, error)
	// Register submits a job.
	Register(ctx context.Context, job *api.Job) error
	// KeepJob tags the job's current version unless a version of it is
	// tagged already, and reports whether it applied a tag.
	KeepJob(ctx context.Context, job *api.Job) (bool, error)
	// Allocations lists the allocations of a job.
	Allocations(ctx context.Context, job *api.Job) ([]*api.AllocationListStub, error)
	// Wait blocks until Nomad's jobs or nodes change after index, or the
	// query's wait time ends, and returns the index to wait on next.
	Wait(ctx context.Context, index uint64) (uint64, error)
}

// NomadCluster is a Cluster over a Nomad API client.
type NomadCluster struct {
	Client *api.Client
}

var _ Cluster = (*NomadCluster)(nil)

// Nodes lists the client nodes with their resources and metadata.
//
// NOTE: a node's used CPU and memory are taken as 0, so placement treats
// every node as empty and Nomad's own scheduler enforces capacity.
func (c *NomadCluster) Nodes(ctx context.Context) ([]nodemeta.Node, []placement.Node, error) {
	opts := (&api.QueryOptions{Params: map[string]string{"resources": "true"}}).WithContext(ctx)
	stubs, _, err := c.Client.Nodes().List(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("list nomad nodes: %w", err)
	}
	metaNodes, err := nodemeta.ReadNodes(ctx, c.Client)
	if err != nil {
		return nil, nil, err
	}

	nodes := make([]placement.Node, 0, len(stubs))
	for _, stub := range stubs {
		n := placement.Node{
			ID:       stub.Name,
			Eligible: stub.Status == "ready" && !stub.Drain && stub.SchedulingEligibility == "eligible",
		}
		for _, m := range metaNodes {
			if m.ID == stub.ID {
				n.Site = m.Meta[nodemeta.KeySite]
			}
		}
		if r := stub.NodeResources; r != nil {
			n.CPUMHz, n.MemoryMB = r.Cpu.CpuShares, r.Memory.MemoryMB
		}
		nodes = append(nodes, n)
	}
	return metaNodes, nodes, nil
}

// metaSyncTimeout bounds the wait for Nomad's servers to see metadata
// that a client applied. A Nomad 2.0 client sends node updates to the
// servers 5s to 10s after the first change, and in -dev mode after 0.5s.
const metaSyncTimeout = 20 * time.Second

// ApplyMeta sends the changes with nodemeta.Apply, then waits until the
// servers see every camera and site that a change adds, so that a job
// registered next can be placed on its new holders on its first
// evaluation. It does not wait for removals.
//
// NOTE: until the servers see a removal, the former holder still
// satisfies the ${meta.ferry.cameras} constraint; the node affinity for
// the new holder is what steers a moved group away from it meanwhile.
func (c *NomadCluster) ApplyMeta(ctx context.Context, changes []nodemeta.Change) error {
	if err := nodemeta.Apply(ctx, c.Client, changes); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, metaSyncTimeout)
	defer cancel()
	for _, change := range changes {
		if err := c.waitMeta(ctx, change); err != nil {
			return err
		}
	}
	return nil
}

// waitMeta blocks until the servers' copy of the node carries change.
func (c *NomadCluster) waitMeta(ctx context.Context, change nodemeta.Change) error {
	var index uint64
	for {
		opts := (&api.QueryOptions{WaitIndex: index, WaitTime: metaSyncTimeout}).WithContext(ctx)
		node, meta, err := c.Client.Nodes().Info(change.NodeID, opts)
		if err != nil {
			return fmt.Errorf("wait for nomad servers to see the metadata of node %q (%s): %w", change.NodeName, change.NodeID, err)
		}
		if metaAdded(node.Meta, change.Meta) {
			return nil
		}
		index = meta.LastIndex
	}
}

// metaAdded reports whether have carries every camera and value that want
// adds. Keys that want removes, and cameras it drops, are not checked.
func metaAdded(have map[string]string, want map[string]*string) bool {
	for key, value := range want {
		switch {
		case value == nil:
		case key == nodemeta.KeyCameras:
			current := strings.Split(have[key], ",")
			for _, camera := range strings.Split(*value, ",") {
				if camera != "" && !slices.Contains(current, camera) {
					return false
				}
			}
		case have[key] != *value:
			return false
		}
	}
	return true
}

// TemplateJobs reads every job in every namespace and keeps those with a
// ferry selector, stopped ones included, so that the service can tell a
// stopped template job from one that Nomad no longer has.
func (c *NomadCluster) TemplateJobs(ctx context.Context) ([]*api.Job, error) {
	opts := (&api.QueryOptions{Namespace: "*"}).WithContext(ctx)
	stubs, _, err := c.Client.Jobs().List(opts)
	if err != nil {
		return nil, fmt.Errorf("list nomad jobs: %w", err)
	}
	var jobs []*api.Job
	for _, stub := range stubs {
		if stub.ParentID != "" {
			continue
		}
		q := (&api.QueryOptions{Namespace: stub.Namespace}).WithContext(ctx)
		job, _, err := c.Client.Jobs().Info(stub.ID, q)
		if err != nil {
			return nil, fmt.Errorf("read nomad job %q in namespace %q: %w", stub.ID, stub.Namespace, err)
		}
		if IsTemplateJob(job) {
			jobs = append(jobs, job)
		}
	}
	return jobs, nil
}

// Register submits the job, checking that Nomad still has the version the
// expansion was computed from.
func (c *NomadCluster) Register(ctx context.Context, job *api.Job) error {
	opts := &api.RegisterOptions{}
	if job.JobModifyIndex != nil {
		opts.EnforceIndex, opts.ModifyIndex = true, *job.JobModifyIndex
	}
	q := (&api.WriteOptions{Namespace: deref(job.Namespace)}).WithContext(ctx)
	if _, _, err := c.Client.Jobs().RegisterOpts(job, opts, q); err != nil {
		return fmt.Errorf("register nomad job %q: %w", deref(job.ID), err)
	}
	return nil
}

// KeepTag is the version tag that KeepJob applies.
const KeepTag = "ferry-keep"

// KeepJob tags the job's current version with KeepTag unless some version
// of the job carries a tag already. Nomad v2.0 never garbage-collects a
// job with a tagged version (jobGC in nomad/core_sched.go) and never prunes
// tagged versions, so a batch template job whose groups have all finished
// stays registered for the cameras that come later. Stopping and purging
// the job still removes it.
func (c *NomadCluster) KeepJob(ctx context.Context, job *api.Job) (bool, error) {
	id := deref(job.ID)
	q := (&api.QueryOptions{Namespace: deref(job.Namespace)}).WithContext(ctx)
	versions, _, _, err := c.Client.Jobs().Versions(id, false, q)
	if err != nil {
		return false, fmt.Errorf("list versions of nomad job %q: %w", id, err)
	}
	for _, v := range versions {
		if v.VersionTag != nil {
			return false, nil
		}
	}
	w := (&api.WriteOptions{Namespace: deref(job.Namespace)}).WithContext(ctx)
	description := "ferry-scheduler tags this version so that Nomad does not garbage-collect the template job once its groups finish"
	if _, err := c.Client.Jobs().TagVersion(id, deref(job.Version), KeepTag, description, w); err != nil {
		return false, fmt.Errorf("tag version %d of nomad job %q as %q: %w", deref(job.Version), id, KeepTag, err)
	}
	return true, nil
}

// Wait runs blocking queries on the job and node lists at once and returns
// when the first of them does.
func (c *NomadCluster) Wait(ctx context.Context, index uint64) (uint64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		index uint64
		err   error
	}
	answers := make(chan answer, 2)
	go func() {
		opts := (&api.QueryOptions{Namespace: "*", WaitIndex: index}).WithContext(ctx)
		_, meta, err := c.Client.Jobs().List(opts)
		answers <- answer{indexOf(meta), err}
	}()
	go func() {
		opts := (&api.QueryOptions{WaitIndex: index}).WithContext(ctx)
		_, meta, err := c.Client.Nodes().List(opts)
		answers <- answer{indexOf(meta), err}
	}()

	a := <-answers
	if a.err != nil && !errors.Is(a.err, context.Canceled) {
		return index, fmt.Errorf("watch nomad jobs and nodes: %w", a.err)
	}
	if a.index == 0 {
		return index, a.err
	}
	// An index lower than the last one means Nomad lost its state, and
	// the next query must start from the new index.
	return a.index, a.err
}

func indexOf(meta *api.QueryMeta) uint64 {
	if meta == nil {
		return 0
	}
	return meta.LastIndex
}
