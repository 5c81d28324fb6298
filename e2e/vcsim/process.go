package vcsim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// DefaultCacheDir returns the folder that Build writes ferry-vcsim to:
// ~/.cache/ferry/vcsim.
func DefaultCacheDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache folder: %w", err)
	}
	return filepath.Join(cache, "ferry", "vcsim"), nil
}

// Build compiles the ferry-vcsim command of the repository at root, which
// serves govmomi's simulator from the module version in go.mod, into
// cacheDir and returns the binary's path.
func Build(ctx context.Context, root, cacheDir string) (string, error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("build ferry-vcsim: %w", err)
	}
	bin := filepath.Join(cacheDir, "ferry-vcsim")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./e2e/vcsim/cmd/ferry-vcsim")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ferry-vcsim: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// ProcessConfig describes a ferry-vcsim process.
type ProcessConfig struct {
	// Binary is the path that Build returned.
	Binary string
	// Username and PasswordFile are the accepted login.
	Username, PasswordFile string
	// Template is the template VM's name. Default "ferry-template".
	Template string
	// GuestImage and GuestCommand back every new VM with a container.
	GuestImage   string
	GuestCommand []string
	// Owner labels the containers, for RemoveContainers.
	Owner string
	// LogPath receives the process's standard error.
	LogPath string
}

// Process is a running ferry-vcsim.
type Process struct {
	// URL is the SDK address without credentials.
	URL   string
	owner string
	cmd   *exec.Cmd
	lines chan string
	done  chan struct{}
}

// Start runs ferry-vcsim on a free loopback port and waits until it serves.
func Start(ctx context.Context, cfg ProcessConfig) (*Process, error) {
	args := []string{"-listen", "127.0.0.1:0", "-username", cfg.Username, "-password-file", cfg.PasswordFile, "-owner", cfg.Owner}
	if cfg.Template != "" {
		args = append(args, "-template", cfg.Template)
	}
	if cfg.GuestImage != "" {
		args = append(args, "-guest-image", cfg.GuestImage, "-guest-command", strings.Join(cfg.GuestCommand, " "))
	}
	cmd := exec.Command(cfg.Binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if cfg.LogPath != "" {
		logFile, err := os.Create(cfg.LogPath)
		if err != nil {
			return nil, fmt.Errorf("start ferry-vcsim: %w", err)
		}
		defer logFile.Close()
		cmd.Stderr = logFile
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ferry-vcsim: %w", err)
	}
	p := &Process{owner: cfg.Owner, cmd: cmd, lines: make(chan string, 16), done: make(chan struct{})}
	go p.read(bufio.NewScanner(stdout))

	line, err := p.expect(ctx, "url ")
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("start ferry-vcsim (log: %s): %w", cfg.LogPath, err)
	}
	p.URL = strings.TrimPrefix(line, "url ")
	return p, nil
}

func (p *Process) read(scanner *bufio.Scanner) {
	defer close(p.done)
	for scanner.Scan() {
		p.lines <- scanner.Text()
	}
	_ = p.cmd.Wait()
}

// expect waits for the next line with prefix.
func (p *Process) expect(ctx context.Context, prefix string) (string, error) {
	for {
		select {
		case line := <-p.lines:
			if strings.HasPrefix(line, prefix) {
				return line, nil
			}
		case <-p.done:
			return "", errors.New("ferry-vcsim exited")
		case <-ctx.Done():
			return "", fmt.Errorf("wait for ferry-vcsim to print %q: %w", prefix, ctx.Err())
		}
	}
}

// Stop closes the simulator's listener and connections, as when vCenter
// goes down, and waits until it has.
func (p *Process) Stop(ctx context.Context) error {
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return fmt.Errorf("stop ferry-vcsim: %w", err)
	}
	_, err := p.expect(ctx, "stopped")
	return err
}

// Restart serves again on the same port with the same inventory.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		return fmt.Errorf("restart ferry-vcsim: %w", err)
	}
	_, err := p.expect(ctx, "restarted")
	return err
}

// Containers returns the ids of the containers of this simulator's VMs.
func (p *Process) Containers(ctx context.Context) ([]string, error) {
	return Containers(ctx, p.owner)
}

// Close ends the process, which removes its VMs' containers, and removes
// any containers of its owner left after all.
func (p *Process) Close() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	if p.owner == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return RemoveContainers(ctx, p.owner)
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }
