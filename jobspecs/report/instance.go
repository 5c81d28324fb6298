package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
)

// maxProbeBody is how many bytes of a health endpoint's response body a
// reason quotes.
const maxProbeBody = 512

// instance is one registered instance of the service.
type instance struct {
	// camera is the value of the instance's only camera: tag, and cameras
	// lists every camera: tag value, so that a misconfigured instance is
	// reported under each camera it names.
	camera  string
	cameras []string
	// node is the node: tag, else consulNode.
	node, consulNode string
	nodeTagged       bool
	address          string
	passing          bool
	// checks are the instance's checks that are not passing.
	checks []*api.HealthCheck
	// invalid is the reason the instance's tags are unusable, empty when they are
	// usable.
	invalid string
}

// location names the instance's node in messages, saying whether the name
// is the node: tag or the Consul node.
func (inst instance) location() string {
	if inst.nodeTagged {
		return fmt.Sprintf("node %q", inst.node)
	}
	return fmt.Sprintf("Consul node %q", inst.consulNode)
}

// instanceOf reads an instance's camera and node from its tags and its
// health from its checks, node checks included. An instance with several
// camera: tags is marked invalid.
func instanceOf(entry *api.ServiceEntry) instance {
	inst := instance{node: entry.Node.Node, consulNode: entry.Node.Node}
	var cameraTags []string
	for _, tag := range entry.Service.Tags {
		if value, ok := strings.CutPrefix(tag, "camera:"); ok {
			cameraTags = append(cameraTags, fmt.Sprintf("%q", tag))
			inst.cameras = append(inst.cameras, value)
		}
		if value, ok := strings.CutPrefix(tag, "node:"); ok && value != "" {
			inst.node = value
			inst.nodeTagged = true
		}
	}
	switch len(inst.cameras) {
	case 0:
	case 1:
		inst.camera = inst.cameras[0]
	default:
		inst.invalid = fmt.Sprintf("service %q has %d camera tags (%s), expected one", entry.Service.ID, len(cameraTags), strings.Join(cameraTags, ", "))
	}

	host := entry.Service.Address
	if host == "" {
		host = entry.Node.Address
	}
	inst.address = net.JoinHostPort(host, strconv.Itoa(entry.Service.Port))

	inst.passing = entry.Checks.AggregatedStatus() == api.HealthPassing
	for _, check := range entry.Checks {
		if check.Status != api.HealthPassing {
			inst.checks = append(inst.checks, check)
		}
	}
	return inst
}

// failingChecks describes the instance's checks that are not passing.
func (c *Collector) failingChecks(ctx context.Context, inst instance) string {
	var failing []string
	for _, check := range inst.checks {
		output := c.checkOutput(ctx, inst, check)
		failing = append(failing, fmt.Sprintf("check %q is %s: %s", check.Name, check.Status, output))
	}
	return strings.Join(failing, "; ")
}

// checkOutput returns the check's output from the catalog. Consul agents
// send a check's output to the catalog at once only when its status
// changes, and otherwise every check_update_interval (default 5m), so a
// check critical from its start has no output there for minutes. Then the
// output comes from c.Agent when that agent runs the check, else from a GET
// of the check's HTTP endpoint. Consul 1.14.11's catalog leaves that URL
// empty for checks registered through an agent, so for a service check
// without it the GET goes to the instance's /health, the motion program's
// health endpoint.
func (c *Collector) checkOutput(ctx context.Context, inst instance, check *api.HealthCheck) string {
	if output := strings.TrimSpace(check.Output); output != "" {
		return output
	}
	if output := c.agentOutput(check); output != "" {
		return output + " (output from the Consul agent; not in the catalog yet)"
	}
	url := check.Definition.HTTP
	if url == "" && check.ServiceID != "" {
		url = "http://" + inst.address + "/health"
	}
	if output := c.probe(ctx, url); output != "" {
		return output + " (no output in the catalog yet)"
	}
	return "no output in the catalog yet"
}

// agentOutput returns the check's output from c.Agent, or "" when that
// agent does not run the check.
func (c *Collector) agentOutput(check *api.HealthCheck) string {
	if c.Agent == nil {
		return ""
	}
	name, err := c.Agent.NodeName()
	if err != nil || name != check.Node {
		return ""
	}
	checks, err := c.Agent.Checks()
	if err != nil {
		return ""
	}
	if local, ok := checks[check.CheckID]; ok {
		return strings.TrimSpace(local.Output)
	}
	return ""
}

// probe sends a GET to an HTTP check's URL and describes the response, or
// returns "" when the check has no URL.
// NOTE: the URL is the one the agent of the check's node uses, so from
// another host a loopback URL reaches the wrong server or none.
func (c *Collector) probe(ctx context.Context, url string) string {
	if url == "" {
		return ""
	}
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Sprintf("GET %s: %v", url, err)
	}
	response, err := c.HTTP.Do(request)
	if err != nil {
		return fmt.Sprintf("GET %s: %v", url, err)
	}
	defer response.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(response.Body, maxProbeBody))
	return fmt.Sprintf("GET %s returned %s: %q", url, response.Status, strings.TrimSpace(string(body)))
}
