package vsphere

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-video/ferry/plugins"
)

// hangingListener accepts TCP connections on loopback and never responds,
// like a vCenter whose service is stuck.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

func TestFingerprintHangingVCenter(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
	}{
		{"http", "http"},
		{"tls handshake", "https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := hangingListener(t)
			cfg := &PluginConfig{URL: tt.scheme + "://" + addr + "/sdk", Username: testUser, RequestTimeout: "200ms", Insecure: true}
			t.Setenv(passwordEnv, testPassword)
			if err := cfg.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			d := newDriver(nullLogger(), newManualClock())
			d.applyConfig(cfg)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ch, _ := d.Fingerprint(ctx)

			fp := nextFingerprint(t, ch)
			if fp.Health != plugins.HealthUnhealthy {
				t.Errorf("health = %v, want unhealthy", fp.Health)
			}
			if !strings.Contains(fp.Description, "did not respond within 200ms") {
				t.Errorf("description = %q, want it to name the timeout", fp.Description)
			}
			if !d.conn.mu.TryLock() {
				t.Fatal("connection lock still held after the fingerprint")
			}
			d.conn.mu.Unlock()
		})
	}
}

func TestRequestTimeoutConfig(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		err   string
	}{
		{"", defaultRequestTimeout, ""},
		{"5s", 5 * time.Second, ""},
		{"-1s", 0, "invalid request_timeout"},
		{"soon", 0, "invalid request_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			cfg := &PluginConfig{RequestTimeout: tt.value}
			err := cfg.validate()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("validate = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if cfg.requestTimeout != tt.want {
				t.Errorf("request timeout = %v, want %v", cfg.requestTimeout, tt.want)
			}
		})
	}
}
