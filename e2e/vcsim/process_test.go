package vcsim

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
)

func TestProcessOutageAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := Build(ctx, root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("pw-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Start(ctx, ProcessConfig{Binary: bin, Username: "ferry", PasswordFile: passwordFile, Template: "tmpl", LogPath: filepath.Join(dir, "vcsim.log")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	}()

	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Errorf("URL host = %q, want loopback 127.0.0.1", u.Hostname())
	}
	u.User = url.UserPassword("ferry", "pw-1")
	login := func() error {
		c, err := govmomi.NewClient(ctx, u, true)
		if err != nil {
			return err
		}
		defer c.Logout(ctx)
		_, err = find.NewFinder(c.Client, true).VirtualMachine(ctx, "/DC0/vm/tmpl")
		return err
	}

	if err := login(); err != nil {
		t.Fatalf("find the template before the outage: %v", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := login(); err == nil {
		t.Error("login during the outage succeeded, want a connection error")
	}
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := login(); err != nil {
		t.Errorf("find the template after the restart: %v", err)
	}
}
