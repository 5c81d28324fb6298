package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// Report is the city report: the events of every camera with a healthy
// instance, and every camera without one.
type Report struct {
	Cameras []CameraEvents `json:"cameras"`
	Missing []Missing      `json:"missing"`
	// instances is the number of instances of the service in the catalog,
	// with or without a camera tag.
	instances int
}

// CameraEvents are the events that one instance found for its camera.
type CameraEvents struct {
	Camera string `json:"camera"`
	// Node is the instance's node: its node: tag, else its Consul node.
	Node string `json:"node"`
	// Done is false while the instance is still processing recordings.
	Done   bool    `json:"done"`
	Events []Event `json:"events"`
}

// Event is one motion event, as the motion program's /events returns it.
type Event struct {
	File  string  `json:"file"`
	Time  float64 `json:"time"`
	Score float64 `json:"score"`
}

// Missing is a camera without a healthy instance that returned its events.
type Missing struct {
	Camera string `json:"camera"`
	Reason string `json:"reason"`
}

// eventsResponse is the body of the motion program's GET /events.
type eventsResponse struct {
	Camera string  `json:"camera"`
	Events []Event `json:"events"`
	Done   bool    `json:"done"`
}

// Collector builds reports from Consul's catalog and the instances' HTTP
// endpoints.
type Collector struct {
	Health *api.Health
	// Agent, when set, is asked for the output of checks that it runs and
	// whose output the catalog does not have yet.
	Agent *api.Agent
	HTTP  *http.Client
	// Service is the Consul service name of the instances.
	Service string
	// Tags filter the instances; each instance must have all of them.
	Tags []string
}

// Collect returns the report over the instances of c.Service. Every camera
// in expected appears in the report, in Missing when no healthy instance
// returned its events, and so does every other camera that has an instance.
func (c *Collector) Collect(ctx context.Context, expected []string) (*Report, error) {
	entries, _, err := c.Health.ServiceMultipleTags(c.Service, c.Tags, false, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list instances of service %q in Consul: %w", c.Service, err)
	}

	byCamera := make(map[string][]instance)
	for _, camera := range expected {
		byCamera[camera] = nil
	}
	for _, entry := range entries {
		inst := instanceOf(entry)
		for _, camera := range inst.cameras {
			byCamera[camera] = append(byCamera[camera], inst)
		}
	}

	report := &Report{Cameras: []CameraEvents{}, Missing: []Missing{}, instances: len(entries)}
	for _, camera := range sortedKeys(byCamera) {
		found, missing := c.collectCamera(ctx, camera, byCamera[camera])
		report.Cameras = append(report.Cameras, found...)
		if missing != nil {
			report.Missing = append(report.Missing, *missing)
		}
	}
	return report, nil
}

// collectCamera returns the events of every healthy instance of a camera,
// or why none returned them.
func (c *Collector) collectCamera(ctx context.Context, camera string, instances []instance) ([]CameraEvents, *Missing) {
	if len(instances) == 0 {
		reason := fmt.Sprintf("no instance of service %q with tag %q is registered in Consul", c.Service, "camera:"+camera)
		return nil, &Missing{Camera: camera, Reason: reason}
	}
	var found []CameraEvents
	var reasons []string
	for _, inst := range instances {
		if inst.invalid != "" {
			reasons = append(reasons, fmt.Sprintf("instance on %s is misconfigured: %s", inst.location(), inst.invalid))
			continue
		}
		if !inst.passing {
			reasons = append(reasons, fmt.Sprintf("instance on %s is unhealthy: %s", inst.location(), c.failingChecks(ctx, inst)))
			continue
		}
		events, err := c.fetchEvents(ctx, inst)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("instance on %s: %v", inst.location(), err))
			continue
		}
		found = append(found, *events)
	}
	if len(found) > 0 {
		return found, nil
	}
	return nil, &Missing{Camera: camera, Reason: strings.Join(reasons, "; ")}
}

func (c *Collector) fetchEvents(ctx context.Context, inst instance) (*CameraEvents, error) {
	url := "http://" + inst.address + "/events"
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	response, err := c.HTTP.Do(request)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %s", url, response.Status)
	}
	var body eventsResponse
	if err := json.NewDecoder(response.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: invalid JSON: %w", url, err)
	}
	if body.Camera != inst.camera {
		return nil, fmt.Errorf("GET %s: camera %q, expected %q from the instance's tag", url, body.Camera, inst.camera)
	}
	events := body.Events
	if events == nil {
		events = []Event{}
	}
	return &CameraEvents{Camera: inst.camera, Node: inst.node, Done: body.Done, Events: events}, nil
}

func sortedKeys(m map[string][]instance) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	return keys
}
