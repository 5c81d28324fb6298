package registrar

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/hashicorp/consul/api"
)

// MetaOwner is the service meta key that names the registrar process
// publishing the node, so that a second registrar with the same -node can
// tell that the node is taken.
const MetaOwner = "registrar"

// ErrNodeTaken is wrapped by the error of Claim and Apply when another
// live registrar publishes the same node.
var ErrNodeTaken = errors.New("node is published by another registrar")

// newOwner returns this process's owner value: host name, process id and
// a hash of the storage roots.
func newOwner(cfg *Config) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	roots := append(slices.Clone(cfg.Roots), cfg.ReplicaRoots...)
	sum := sha256.Sum256([]byte(strings.Join(roots, "\x00")))
	return fmt.Sprintf("host=%s pid=%d roots=%s", host, os.Getpid(), hex.EncodeToString(sum[:4]))
}

// sameRegistrar reports whether two owner values name the same host and
// storage roots, as a registrar restarted after a crash does, whatever its
// process id.
func sameRegistrar(a, b string) bool {
	return withoutPID(a) == withoutPID(b)
}

func withoutPID(owner string) string {
	fields := strings.Fields(owner)
	fields = slices.DeleteFunc(fields, func(f string) bool { return strings.HasPrefix(f, "pid=") })
	return strings.Join(fields, " ")
}

// serviceMeta returns the service meta to register: pub's, plus the owner.
func (p *Publisher) serviceMeta(pub Publication) map[string]string {
	meta := maps.Clone(pub.Meta)
	if meta == nil {
		meta = make(map[string]string)
	}
	meta[MetaOwner] = p.owner
	return meta
}

// Claim returns an error wrapping ErrNodeTaken when the agent already has
// this node's service from another registrar whose check is passing, which
// means that registrar is alive and renewing it. A registrar on another
// host or with other storage roots is another registrar. A service whose
// check has turned critical, because its registrar stopped renewing it, is
// taken over.
//
// NOTE: a second process on the same host with the same roots counts as a
// restart of the first, so it is not detected.
func (p *Publisher) Claim(ctx context.Context) error {
	svc, _, err := p.client.Agent().Service(p.cfg.ServiceID(), (&api.QueryOptions{}).WithContext(ctx))
	var status api.StatusError
	if errors.As(err, &status) && status.Code == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read service %q from consul: %w", p.cfg.ServiceID(), err)
	}
	return p.checkOwner(svc)
}

func (p *Publisher) checkOwner(svc *api.AgentService) error {
	if svc == nil {
		return nil
	}
	other := svc.Meta[MetaOwner]
	if other == "" || sameRegistrar(other, p.owner) {
		return nil
	}
	checks, err := p.client.Agent().ChecksWithFilter(fmt.Sprintf("CheckID == %q", p.cfg.CheckID()))
	if err != nil {
		return fmt.Errorf("read check %q from consul: %w", p.cfg.CheckID(), err)
	}
	if check := checks[p.cfg.CheckID()]; check == nil || check.Status != api.HealthPassing {
		return nil
	}
	return fmt.Errorf("%w: node %q (service %q) is published by the registrar %s, whose check is passing: stop that registrar, or run this one with another -node",
		ErrNodeTaken, p.cfg.Node, p.cfg.ServiceID(), other)
}
