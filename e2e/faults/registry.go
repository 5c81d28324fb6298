package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

const (
	// registryBinary is Debian's docker-registry package.
	registryBinary = "/usr/bin/docker-registry"
	// pullLayerBytes is the size of the random file in the pulled image's
	// layer. Random bytes do not compress, so at pullRate the download
	// alone takes at least two seconds.
	pullLayerBytes = 8 << 20
	// pullRate is the rate, in bytes per second, at which the proxy in
	// front of the registry sends each connection's responses.
	pullRate = 4 << 20
	// throttleChunk is the size of one throttled write.
	throttleChunk = 32 << 10
)

// pullRegistry is a docker-registry process on loopback behind a TCP
// proxy that throttles what the registry sends, holding one pushed image
// whose layer exists nowhere else.
type pullRegistry struct {
	cmd      *exec.Cmd
	proxy    net.Listener
	upstream string
	// rate is the proxy's rate in bytes per second, or 0 for full speed.
	rate atomic.Int64
	// image is the pushed image, named by the proxy's address so that
	// every pull goes through the proxy.
	image string
}

// startPullRegistry serves docker-registry from a folder under the suite's
// temp dir, pushes the image through the proxy at full speed and removes
// it from the daemon again.
func (s *suite) startPullRegistry(ctx context.Context) (*pullRegistry, error) {
	if _, err := os.Stat(registryBinary); err != nil {
		return nil, fmt.Errorf("%s not found: install Debian's docker-registry package to run the pull scenario: %w", registryBinary, err)
	}
	dir, err := os.MkdirTemp(s.tempDir, "registry")
	if err != nil {
		return nil, err
	}
	r := &pullRegistry{}
	if r.upstream, err = freeLoopbackAddr(); err != nil {
		return nil, err
	}
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), r.upstream)
	configPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	r.cmd = exec.Command(registryBinary, "serve", configPath)
	// A process group of its own keeps the terminal's SIGINT away, so that
	// only close stops the registry.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", registryBinary, err)
	}
	if err := r.startProxy(); err != nil {
		r.close()
		return nil, err
	}
	if err := waitDial(ctx, r.upstream, 30*time.Second); err != nil {
		r.close()
		return nil, fmt.Errorf("docker-registry did not listen on %s: %w", r.upstream, err)
	}
	r.image = r.proxy.Addr().String() + "/ferry-faults/pull:" + s.nodeID
	if err := r.push(ctx, s.docker); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

// close stops the proxy and the registry.
func (r *pullRegistry) close() {
	if r.proxy != nil {
		r.proxy.Close()
	}
	r.cmd.Process.Kill()
	r.cmd.Wait()
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// waitDial polls addr until it accepts a TCP connection.
func waitDial(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startProxy listens on a free loopback port and forwards each connection
// to the registry, sending the registry's bytes at r.rate.
func (r *pullRegistry) startProxy() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.proxy = l
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go r.forward(conn)
		}
	}()
	return nil
}

func (r *pullRegistry) forward(conn net.Conn) {
	defer conn.Close()
	upstream, err := net.Dial("tcp", r.upstream)
	if err != nil {
		return
	}
	defer upstream.Close()
	go func() {
		io.Copy(upstream, conn)
		upstream.(*net.TCPConn).CloseWrite()
	}()
	buf := make([]byte, throttleChunk)
	for {
		n, err := upstream.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
			if rate := r.rate.Load(); rate > 0 {
				time.Sleep(time.Duration(int64(n) * int64(time.Second) / rate))
			}
		}
		if err != nil {
			return
		}
	}
}

// push imports the image into the daemon, pushes it and removes it again.
func (r *pullRegistry) push(ctx context.Context, docker *client.Client) error {
	layer, err := uniqueLayer()
	if err != nil {
		return err
	}
	body, err := docker.ImageImport(ctx, image.ImportSource{Source: layer, SourceName: "-"}, r.image, image.ImportOptions{
		Changes: []string{`CMD ["/bin/sh"]`, "ENV PATH=/bin"},
	})
	if err != nil {
		return fmt.Errorf("import %s: %w", r.image, err)
	}
	_, err = io.Copy(io.Discard, body)
	body.Close()
	if err != nil {
		return fmt.Errorf("import %s: %w", r.image, err)
	}

	// The registry has no auth, and "{}" is an empty auth config.
	pushed, err := docker.ImagePush(ctx, r.image, image.PushOptions{RegistryAuth: "e30="})
	if err != nil {
		return fmt.Errorf("push %s: %w", r.image, err)
	}
	out, err := io.ReadAll(pushed)
	pushed.Close()
	if err != nil {
		return fmt.Errorf("push %s: %w", r.image, err)
	}
	if bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("push %s: %s", r.image, out)
	}
	return removeImage(ctx, docker, r.image)
}

// removeImage removes ref and its layers from the daemon, if present.
func removeImage(ctx context.Context, docker *client.Client, ref string) error {
	_, err := docker.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !client.IsErrNotFound(err) && !strings.Contains(err.Error(), "No such image") {
		return fmt.Errorf("remove image %s: %w", ref, err)
	}
	return nil
}

// uniqueLayer returns a tar stream with busybox, the applets of the task
// scripts and pullLayerBytes random bytes.
func uniqueLayer() (io.Reader, error) {
	busybox, err := busyboxLayer()
	if err != nil {
		return nil, err
	}
	random := make([]byte, pullLayerBytes)
	if _, err := rand.Read(random); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tr := tar.NewReader(busybox)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "random", Typeflag: tar.TypeReg, Mode: 0o644, Size: pullLayerBytes}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(random); err != nil {
		return nil, err
	}
	return &buf, tw.Close()
}
