// Package registrar publishes the camera storage a node holds to the local
// Consul agent: one service per node with a tag per camera, and a JSON
// document per camera in the KV store with its size, recording times and
// the tags listed in the camera folder's optional .tags file. It writes
// only what changed. It scans every period, and a Watcher makes it scan
// as soon as inotify reports a change under the storage roots.
package registrar

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Config is the registrar's configuration, read from a JSON file and
// overridden by flags.
type Config struct {
	// ConsulAddr is the local Consul agent's HTTP address, host:port.
	// Default "127.0.0.1:8500".
	ConsulAddr string `json:"consul_addr"`
	// ServiceName is the Consul service name. Default "camera-storage".
	ServiceName string `json:"service_name"`
	// KVPrefix is the KV folder under which each node writes
	// <node>/<camera>. Default "ferry/storage".
	KVPrefix string `json:"kv_prefix"`
	// Site is the site this node belongs to, such as "downtown". Required.
	Site string `json:"site"`
	// Node is this node's name in Nomad. Required.
	Node string `json:"node"`
	// Roots are the camera storage roots; each contains one folder per
	// camera id.
	Roots []string `json:"roots"`
	// ReplicaRoots are storage roots that hold copies of recordings whose
	// primary is on another node. They are scanned like Roots.
	ReplicaRoots []string `json:"replica_roots"`
	// Streams are live camera streams this node receives. A camera listed
	// here counts as held even with no recordings.
	Streams []Stream `json:"streams"`
	// Period is the time between scans. Default 30s.
	Period Duration `json:"period"`
}

// Stream is one live camera stream that the node receives.
type Stream struct {
	// Camera is the camera id.
	Camera string `json:"camera"`
	// URL is the stream address, such as rtsp://10.0.0.5/stream1. Any user
	// name and password in it are removed before it is published.
	URL string `json:"url"`
}

// Duration is a time.Duration that reads from JSON as a string like "30s".
type Duration time.Duration

// UnmarshalJSON parses a duration string such as "30s".
func (d *Duration) UnmarshalJSON(data []byte) error {
	var text string
	if len(data) < 2 || data[0] != '"' {
		return fmt.Errorf("duration %s: expected a quoted string such as \"30s\"", data)
	}
	text = string(data[1 : len(data)-1])
	parsed, err := time.ParseDuration(text)
	if err != nil {
		return fmt.Errorf("duration %q: %w", text, err)
	}
	*d = Duration(parsed)
	return nil
}

// MarshalJSON writes the duration as a string such as "30s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// nodeNamePattern is the allowed form of a node name, which becomes part of
// a Consul service ID and a KV key.
var nodeNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Validate applies defaults and checks the configuration. Every problem is
// reported, each naming its field.
func (c *Config) Validate() error {
	if c.ConsulAddr == "" {
		c.ConsulAddr = "127.0.0.1:8500"
	}
	if c.ServiceName == "" {
		c.ServiceName = "camera-storage"
	}
	if c.KVPrefix == "" {
		c.KVPrefix = "ferry/storage"
	}
	if c.Period == 0 {
		c.Period = Duration(30 * time.Second)
	}

	var errs []error
	if c.Site == "" {
		errs = append(errs, errors.New("site: missing; set the site name, such as \"downtown\""))
	}
	if !nodeNamePattern.MatchString(c.Node) {
		errs = append(errs, fmt.Errorf("node %q: invalid; use letters, digits, '.', '_' and '-', starting with a letter or digit", c.Node))
	}
	if len(c.Roots)+len(c.ReplicaRoots)+len(c.Streams) == 0 {
		errs = append(errs, errors.New("roots: missing; list at least one camera storage root or stream"))
	}
	if time.Duration(c.Period) < time.Second {
		errs = append(errs, fmt.Errorf("period %s: too short; use 1s or more", time.Duration(c.Period)))
	}
	for i, s := range c.Streams {
		if s.Camera == "" {
			errs = append(errs, fmt.Errorf("streams[%d].camera: missing", i))
		}
		if u, err := url.Parse(s.URL); err != nil || u.Scheme == "" || u.Host == "" {
			errs = append(errs, fmt.Errorf("streams[%d].url %q: invalid; use a URL such as rtsp://10.0.0.5/stream1", i, redactURL(s.URL)))
		}
	}
	return errors.Join(errs...)
}

// ServiceID returns the Consul service ID of this node's storage.
func (c *Config) ServiceID() string {
	return c.ServiceName + "-" + c.Node
}

// CheckID returns the ID of the TTL check that reports whether the storage
// folders are readable.
func (c *Config) CheckID() string {
	return "service:" + c.ServiceID() + ":storage"
}

// NodePrefix returns the KV folder of this node's camera documents, ending
// in a slash.
func (c *Config) NodePrefix() string {
	return c.KVPrefix + "/" + c.Node + "/"
}

// redactURL removes the user name and password from a URL, so it can be
// logged and published. Text that does not parse is replaced entirely.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	return u.String()
}
