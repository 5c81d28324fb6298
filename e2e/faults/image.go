package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// testImage is the image of every task: the host's busybox and nothing
// else, so the suite needs no registry.
const testImage = "ferry-test/busybox:1"

// importTestImage builds testImage from /bin/busybox with an image import
// unless the daemon has it already.
func importTestImage(ctx context.Context, docker *client.Client) error {
	if _, err := docker.ImageInspect(ctx, testImage); err == nil {
		return nil
	}
	layer, err := busyboxLayer()
	if err != nil {
		return err
	}
	body, err := docker.ImageImport(ctx, image.ImportSource{Source: layer, SourceName: "-"}, testImage, image.ImportOptions{
		Changes: []string{`CMD ["/bin/sh"]`, "ENV PATH=/bin"},
	})
	if err != nil {
		return err
	}
	defer body.Close()
	_, err = io.Copy(io.Discard, body)
	return err
}

// busyboxLayer returns a tar stream with /bin/busybox and the applet links
// the task scripts use.
func busyboxLayer() (io.Reader, error) {
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read /bin/busybox (install busybox-static): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	headers := []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(busybox))},
	}
	for _, h := range headers {
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(busybox); err != nil {
		return nil, err
	}
	for _, applet := range []string{"sh", "sleep", "echo", "true"} {
		link := &tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}
		if err := tw.WriteHeader(link); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

// copyTestImage saves testImage from one daemon and loads it into another.
func copyTestImage(ctx context.Context, from, to *client.Client) error {
	saved, err := from.ImageSave(ctx, []string{testImage})
	if err != nil {
		return fmt.Errorf("save %s: %w", testImage, err)
	}
	defer saved.Close()
	loaded, err := to.ImageLoad(ctx, saved)
	if err != nil {
		return fmt.Errorf("load %s: %w", testImage, err)
	}
	defer loaded.Body.Close()
	_, err = io.Copy(io.Discard, loaded.Body)
	return err
}
