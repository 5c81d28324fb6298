package vsphere

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// errNotConfigured is returned by calls that need vCenter before SetConfig
// gave its address.
var errNotConfigured = errors.New("vsphere plugin is not configured: set url, username and a password in the agent's plugin \"vsphere\" block")

// connection is one logged-in vCenter session, shared by all calls and
// replaced when it fails.
type connection struct {
	mu     sync.Mutex
	cfg    *PluginConfig
	client *govmomi.Client
}

// get returns the logged-in client, logging in first when there is none.
func (c *connection) get(ctx context.Context) (*govmomi.Client, *PluginConfig, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := c.cfg
	if cfg == nil || !cfg.configured() {
		return nil, cfg, errNotConfigured
	}
	if c.client != nil {
		return c.client, cfg, nil
	}
	client, err := login(ctx, cfg)
	if err != nil {
		return nil, cfg, err
	}
	c.client = client
	return client, cfg, nil
}

// reset drops client after a failure, so that the next get logs in again.
func (c *connection) reset(client *govmomi.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == client {
		c.client = nil
	}
}

// replace installs a new config and drops the old session.
func (c *connection) replace(cfg *PluginConfig) {
	c.mu.Lock()
	old := c.client
	c.cfg, c.client = cfg, nil
	c.mu.Unlock()
	if old != nil {
		_ = old.Logout(context.Background())
	}
}

func (c *connection) config() *PluginConfig {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// login dials vCenter and logs in within request_timeout. A failed login is
// not retried, because the credentials will not change until the agent's
// config does.
func login(ctx context.Context, cfg *PluginConfig) (*govmomi.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.requestTimeout)
	defer cancel()
	sc := soap.NewClient(cfg.url, cfg.Insecure)
	transport := sc.DefaultTransport()
	transport.DialContext = (&net.Dialer{Timeout: cfg.requestTimeout}).DialContext
	transport.TLSHandshakeTimeout = cfg.requestTimeout
	if cfg.CAFile != "" {
		if err := sc.SetRootCAs(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("invalid ca_file %q: %w", cfg.CAFile, err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, unreachable(cfg, err)
	}
	client := &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	err = client.Login(ctx, url.UserPassword(cfg.Username, cfg.password))
	if fault.Is(err, &types.InvalidLogin{}) {
		return nil, fmt.Errorf("login to vCenter %s as %q failed: check username and the password in password_file or %s", cfg.url, cfg.Username, passwordEnv)
	}
	if err != nil {
		return nil, unreachable(cfg, err)
	}
	return client, nil
}

// unreachable wraps a transport error as Recoverable, because vCenter may
// come back.
func unreachable(cfg *PluginConfig, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return recoverable(fmt.Errorf("vCenter %s did not respond within %s (request_timeout): %w", cfg.url, cfg.requestTimeout, err))
	}
	if isCertificateError(err) {
		return recoverable(fmt.Errorf("vCenter %s is unreachable: %w: set ca_file to vCenter's CA certificate, or insecure = true", cfg.url, err))
	}
	return recoverable(fmt.Errorf("vCenter %s is unreachable: %w", cfg.url, err))
}

// isCertificateError reports whether err is a failed verification of
// vCenter's TLS certificate.
func isCertificateError(err error) bool {
	var unknownAuthority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknownAuthority) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &verify)
}

// isConnectionError reports whether err came from the transport or from an
// expired session rather than from a vSphere fault about an object.
func isConnectionError(err error) bool {
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return true
	}
	return fault.Is(err, &types.NotAuthenticated{})
}
