package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// serverAddr is the server's address on the bridge, in 10.213.0.0/24. Every
// address of that subnet lives only inside namespaces the suite creates.
const serverAddr = "10.213.0.1"

// netLab is a set of network namespaces the suite created: one for the
// Nomad server, holding a bridge, and one per client, each joined to the
// bridge by a veth pair. No interface is created in the host's namespace.
type netLab struct {
	// prefix starts every namespace and interface name of this lab, so that
	// cleanup removes only these.
	prefix string
	server string
	// clients lists the client namespaces in order.
	clients []netClient
}

// netClient is one client namespace and the bridge-side end of its link.
type netClient struct {
	namespace string
	// bridgePort is the veth end in the server's namespace. Setting it down
	// cuts the client off, and the client's kernel detects only a lost carrier,
	// so packets are dropped and connections stay open as on a WAN cut.
	bridgePort string
	// iface is the veth end inside the client's namespace.
	iface string
	addr  string
}

// newNetLab creates the namespaces, the bridge and one link per client. On
// error it removes whatever it created.
func newNetLab(ctx context.Context, id string, clients int) (*netLab, error) {
	lab := &netLab{prefix: "ferry-" + id, server: "ferry-" + id + "-srv"}
	if err := lab.create(ctx, clients); err != nil {
		return nil, errors.Join(err, lab.remove(context.WithoutCancel(ctx)))
	}
	return lab, nil
}

func (l *netLab) create(ctx context.Context, clients int) error {
	// Interface names are at most 15 bytes: "f" + 6 hex + role + index.
	short := "f" + strings.TrimPrefix(l.prefix, "ferry-")[:6]
	bridge := short + "br"
	steps := [][]string{
		{"netns", "add", l.server},
		{"-n", l.server, "link", "set", "lo", "up"},
		{"-n", l.server, "link", "add", bridge, "type", "bridge"},
		{"-n", l.server, "addr", "add", serverAddr + "/24", "dev", bridge},
		{"-n", l.server, "link", "set", bridge, "up"},
	}
	if err := runIP(ctx, steps...); err != nil {
		return err
	}
	for i := range clients {
		c := netClient{
			namespace:  fmt.Sprintf("%s-c%d", l.prefix, i+1),
			bridgePort: fmt.Sprintf("%sp%d", short, i+1),
			iface:      fmt.Sprintf("%sc%d", short, i+1),
			addr:       fmt.Sprintf("10.213.0.%d", 10+i),
		}
		l.clients = append(l.clients, c)
		err := runIP(ctx,
			[]string{"netns", "add", c.namespace},
			[]string{"-n", c.namespace, "link", "set", "lo", "up"},
			[]string{"-n", l.server, "link", "add", c.bridgePort, "type", "veth", "peer", "name", c.iface, "netns", c.namespace},
			[]string{"-n", l.server, "link", "set", c.bridgePort, "master", bridge},
			[]string{"-n", l.server, "link", "set", c.bridgePort, "up"},
			[]string{"-n", c.namespace, "addr", "add", c.addr + "/24", "dev", c.iface},
			[]string{"-n", c.namespace, "link", "set", c.iface, "up"},
		)
		if err != nil {
			return err
		}
	}
	return nil
}

// setLink cuts (up false) or heals (up true) the link of client i.
func (l *netLab) setLink(ctx context.Context, i int, up bool) error {
	state := "down"
	if up {
		state = "up"
	}
	return runIP(ctx, []string{"-n", l.server, "link", "set", l.clients[i].bridgePort, state})
}

// remove deletes every namespace of the lab, which deletes the bridge and
// the veth pairs in them.
func (l *netLab) remove(ctx context.Context) error {
	var errs []error
	names := []string{l.server}
	for _, c := range l.clients {
		names = append(names, c.namespace)
	}
	for _, name := range names {
		if _, err := os.Stat("/run/netns/" + name); err != nil {
			continue
		}
		errs = append(errs, runIP(ctx, []string{"netns", "del", name}))
	}
	return errors.Join(errs...)
}

// runIP runs `ip` once per argument list and stops at the first failure.
func runIP(ctx context.Context, steps ...[]string) error {
	for _, args := range steps {
		out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// dialInNamespace opens a TCP connection from inside the named network
// namespace, so that the suite, which runs in the host's namespace, reaches
// the Nomad server's HTTP API without any interface in the host's
// namespace. The socket keeps the namespace it was created in.
func dialInNamespace(ctx context.Context, namespace, address string) (net.Conn, error) {
	target, err := os.Open("/run/netns/" + namespace)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %q: %w", namespace, err)
	}
	defer target.Close()
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The thread switches namespace, so it must run only this goroutine
		// until it is back home. A thread that cannot return is left
		// locked, and Go ends it with the goroutine.
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer home.Close()
		if err := setns(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("enter network namespace %q: %w", namespace, err)}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", address)
		if setns(home) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}

func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}
