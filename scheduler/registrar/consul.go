package registrar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/hashicorp/consul/api"
)

// Writes counts the writes the publisher sent to Consul.
type Writes struct {
	Registrations int
	KVPuts        int
	KVDeletes     int
}

// Publisher applies publications to the local Consul agent, sending only
// what differs from what it wrote last. It is not safe for concurrent use.
type Publisher struct {
	client *api.Client
	cfg    *Config
	// checkTTL is how long the storage check stays passing without an
	// update before Consul marks it critical.
	checkTTL time.Duration

	// last is the state Consul holds, as last written or read. It is nil
	// until the first Apply reads it back from Consul.
	last   *Publication
	Writes Writes
	// owner identifies this process in the service meta under MetaOwner.
	owner string
	// trace, when set, is called after each write with its kind and key,
	// so that tests can check the order of writes.
	trace func(kind, key string)
}

// NewPublisher returns a publisher for the agent at cfg.ConsulAddr.
func NewPublisher(cfg *Config) (*Publisher, error) {
	client, err := api.NewClient(&api.Config{Address: cfg.ConsulAddr})
	if err != nil {
		return nil, fmt.Errorf("consul client for %q: %w", cfg.ConsulAddr, err)
	}
	return &Publisher{client: client, cfg: cfg, checkTTL: 3 * time.Duration(cfg.Period), owner: newOwner(cfg)}, nil
}

// Apply brings Consul in line with pub and renews the storage check. After
// a failure the next Apply reads Consul's state again, in case the agent
// restarted or someone else changed the entries.
func (p *Publisher) Apply(ctx context.Context, pub Publication) error {
	err := p.apply(ctx, pub)
	if err != nil {
		p.last = nil
	}
	return err
}

func (p *Publisher) apply(ctx context.Context, pub Publication) error {
	if p.last != nil {
		lost, err := p.kvLost(ctx)
		if err != nil {
			return err
		}
		if lost {
			p.last = nil
		}
	}
	if p.last == nil {
		held, err := p.read(ctx)
		if err != nil {
			return err
		}
		p.last = held
	}

	// The KV documents go first and the deletions last, so that a
	// scheduler that reads a camera tag also finds the camera's document,
	// and a removed camera leaves the tags before its document goes.
	if err := p.putKV(ctx, pub); err != nil {
		return err
	}
	if err := p.applyService(ctx, pub); err != nil {
		return err
	}
	if err := p.deleteKV(ctx, pub); err != nil {
		return err
	}
	return p.updateCheck(pub)
}

func (p *Publisher) traceWrite(kind, key string) {
	if p.trace != nil {
		p.trace(kind, key)
	}
}

// kvLost reports whether the node's KV keys in Consul differ from the ones
// last written, as after Consul servers lost their state or someone
// deleted them. One key listing per period costs less than a rewrite.
func (p *Publisher) kvLost(ctx context.Context) (bool, error) {
	keys, _, err := p.client.KV().Keys(p.cfg.NodePrefix(), "", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("list consul kv keys %q: %w", p.cfg.NodePrefix(), err)
	}
	if len(keys) != len(p.last.rawKV) {
		return true, nil
	}
	for _, key := range keys {
		if _, ok := p.last.rawKV[key]; !ok {
			return true, nil
		}
	}
	return false, nil
}

// read returns what Consul holds for this node, so a restarted registrar
// rewrites nothing that is already current.
func (p *Publisher) read(ctx context.Context) (*Publication, error) {
	held := &Publication{Details: map[string]CameraDetail{}}
	opts := (&api.QueryOptions{}).WithContext(ctx)
	svc, _, err := p.client.Agent().Service(p.cfg.ServiceID(), opts)
	var status api.StatusError
	if err != nil && !(errors.As(err, &status) && status.Code == http.StatusNotFound) {
		return nil, fmt.Errorf("read service %q from consul: %w", p.cfg.ServiceID(), err)
	}
	if err := p.checkOwner(svc); err != nil {
		return nil, err
	}
	if svc != nil {
		held.ServiceID, held.ServiceName = svc.ID, svc.Service
		held.Tags, held.Meta = svc.Tags, svc.Meta
	}

	pairs, _, err := p.client.KV().List(p.cfg.NodePrefix(), opts)
	if err != nil {
		return nil, fmt.Errorf("list consul kv %q: %w", p.cfg.NodePrefix(), err)
	}
	held.rawKV = make(map[string][]byte, len(pairs))
	for _, pair := range pairs {
		held.rawKV[pair.Key] = pair.Value
	}
	return held, nil
}

func (p *Publisher) applyService(ctx context.Context, pub Publication) error {
	meta := p.serviceMeta(pub)
	if p.last.ServiceID == pub.ServiceID && p.last.ServiceName == pub.ServiceName &&
		slices.Equal(sortedCopy(p.last.Tags), pub.Tags) && maps.Equal(p.last.Meta, meta) {
		return nil
	}

	reg := &api.AgentServiceRegistration{
		ID:   pub.ServiceID,
		Name: pub.ServiceName,
		Tags: pub.Tags,
		Meta: meta,
		Check: &api.AgentServiceCheck{
			CheckID: p.cfg.CheckID(),
			Name:    "camera storage readable",
			TTL:     p.checkTTL.String(),
			Status:  checkStatus(pub),
			Notes:   "critical when a camera storage root cannot be read, or when the registrar stops renewing it; the output also lists unreadable camera folders",
		},
	}
	opts := api.ServiceRegisterOpts{}.WithContext(ctx)
	if err := p.client.Agent().ServiceRegisterOpts(reg, opts); err != nil {
		return fmt.Errorf("register service %q with consul: %w", pub.ServiceID, err)
	}
	p.Writes.Registrations++
	p.traceWrite("register", pub.ServiceID)
	p.last.ServiceID, p.last.ServiceName = pub.ServiceID, pub.ServiceName
	p.last.Tags, p.last.Meta = pub.Tags, meta
	return nil
}

func (p *Publisher) putKV(ctx context.Context, pub Publication) error {
	if p.last.rawKV == nil {
		p.last.rawKV = map[string][]byte{}
	}
	opts := (&api.WriteOptions{}).WithContext(ctx)
	for _, key := range slices.Sorted(maps.Keys(pub.Details)) {
		value := pub.Details[key].Encode()
		if held, ok := p.last.rawKV[key]; ok && bytes.Equal(held, value) {
			continue
		}
		if _, err := p.client.KV().Put(&api.KVPair{Key: key, Value: value}, opts); err != nil {
			return fmt.Errorf("put consul kv %q: %w", key, err)
		}
		p.Writes.KVPuts++
		p.last.rawKV[key] = value
		p.traceWrite("kv_put", key)
	}
	return nil
}

func (p *Publisher) deleteKV(ctx context.Context, pub Publication) error {
	opts := (&api.WriteOptions{}).WithContext(ctx)
	for _, key := range slices.Sorted(maps.Keys(p.last.rawKV)) {
		if _, ok := pub.Details[key]; ok {
			continue
		}
		if _, err := p.client.KV().Delete(key, opts); err != nil {
			return fmt.Errorf("delete consul kv %q: %w", key, err)
		}
		p.Writes.KVDeletes++
		delete(p.last.rawKV, key)
		p.traceWrite("kv_delete", key)
	}
	return nil
}

// updateCheck renews the TTL check. The agent keeps the status locally and
// syncs it to the catalog only when the status or output changes.
func (p *Publisher) updateCheck(pub Publication) error {
	output := pub.HealthOutput
	if output == "" {
		output = "all camera storage folders readable"
	}
	if err := p.client.Agent().UpdateTTL(p.cfg.CheckID(), output, checkStatus(pub)); err != nil {
		return fmt.Errorf("update consul check %q: %w", p.cfg.CheckID(), err)
	}
	return nil
}

// Withdraw deregisters the service and deletes this node's KV documents, so
// the catalog no longer lists the node as a holder. It leaves both alone
// when another registrar has taken the node over.
func (p *Publisher) Withdraw(ctx context.Context) error {
	opts := (&api.QueryOptions{}).WithContext(ctx)
	svc, _, err := p.client.Agent().Service(p.cfg.ServiceID(), opts)
	if err == nil && svc.Meta[MetaOwner] != "" && svc.Meta[MetaOwner] != p.owner {
		return fmt.Errorf("%w: not withdrawing node %q, because the registrar %s publishes it now", ErrNodeTaken, p.cfg.Node, svc.Meta[MetaOwner])
	}
	if err := p.client.Agent().ServiceDeregisterOpts(p.cfg.ServiceID(), opts); err != nil {
		return fmt.Errorf("deregister service %q from consul: %w", p.cfg.ServiceID(), err)
	}
	if _, err := p.client.KV().DeleteTree(p.cfg.NodePrefix(), (&api.WriteOptions{}).WithContext(ctx)); err != nil {
		return fmt.Errorf("delete consul kv tree %q: %w", p.cfg.NodePrefix(), err)
	}
	p.last = nil
	return nil
}

func checkStatus(pub Publication) string {
	if pub.Healthy {
		return api.HealthPassing
	}
	return api.HealthCritical
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
