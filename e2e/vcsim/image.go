package vcsim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// GuestImage is the local image of container-backed VMs: the host's static
// busybox, the shell applets that vcsim's guest operations call, and any
// extra files.
const GuestImage = "ferry-vcsim/guest:0.1"

// guestApplets are the busybox applets that vcsim v0.56.0 runs in the
// container for guest operations (tar for file transfers, rm, mkdir, mktemp,
// find and stat), and the ones guest programs use. tar is tarWrapper.
var guestApplets = []string{"sh", "rm", "mkdir", "mktemp", "find", "stat", "cat", "echo", "printf", "sleep", "env", "true", "false", "ls", "wc", "grep", "tr"}

// contentLabel is the image label with the SHA-256 of the image's layer,
// so that an unchanged image is not imported again.
const contentLabel = "ferry.vcsim.content"

// BuildGuestImage imports GuestImage into the local Docker daemon from
// /bin/busybox and files, which maps a path in the image, such as
// "bin/report", to the host file to copy there. It needs no registry, and
// it keeps the image when its content has not changed.
func BuildGuestImage(ctx context.Context, files map[string]string) error {
	layer, err := guestLayer(files)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(layer.Bytes())
	digest := hex.EncodeToString(sum[:])
	inspect := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", `{{.Id}} {{index .Config.Labels "`+contentLabel+`"}}`, GuestImage)
	out, err := inspect.Output()
	oldID, oldDigest, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if err == nil && oldDigest == digest {
		return nil
	}

	cmd := exec.CommandContext(ctx, "docker", "import",
		"--change", "ENV PATH=/bin",
		"--change", "LABEL "+contentLabel+"="+digest,
		"-", GuestImage)
	cmd.Stdin = layer
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", GuestImage, err, strings.TrimSpace(string(out)))
	}
	if oldID != "" {
		// The replaced image would stay behind untagged. Removal fails,
		// harmlessly, while a container still uses it.
		_ = exec.CommandContext(ctx, "docker", "image", "rm", oldID).Run()
	}
	return nil
}

// tarWrapper translates the GNU tar calls of vcsim v0.56.0's guest file
// transfers, "tar Ccf DIR - FILE" and "tar Cxf DIR -", which busybox tar
// does not parse.
const tarWrapper = `#!/bin/sh
case "$1" in
Ccf) exec busybox tar -c -f "$3" -C "$2" "$4" ;;
Cxf) exec busybox tar -x -f "$3" -C "$2" ;;
*) exec busybox tar "$@" ;;
esac
`

func guestLayer(files map[string]string) (*bytes.Buffer, error) {
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return nil, fmt.Errorf("read /bin/busybox (install the busybox-static package): %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, dir := range []string{"bin/", "tmp/"} {
		if err := tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o1777}); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "bin/busybox", busybox); err != nil {
		return nil, err
	}
	for _, applet := range guestApplets {
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox"}); err != nil {
			return nil, err
		}
	}
	if err := writeFile(tw, "bin/tar", []byte(tarWrapper)); err != nil {
		return nil, err
	}
	// Sorted names keep the layer, and so its digest, the same for the
	// same files.
	for _, name := range slices.Sorted(maps.Keys(files)) {
		src := files[name]
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("guest image file %q: %w", name, err)
		}
		if err := writeFile(tw, name, data); err != nil {
			return nil, err
		}
	}
	return &buf, tw.Close()
}

func writeFile(tw *tar.Writer, name string, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(data))}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

// Containers returns the ids of the containers labelled with owner.
func Containers(ctx context.Context, owner string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+ContainerLabel+"="+owner).Output()
	if err != nil {
		return nil, fmt.Errorf("list vcsim containers of %q: %w", owner, err)
	}
	return strings.Fields(string(out)), nil
}

// RemoveContainers removes the containers that simulators of owner left,
// such as after a crash.
func RemoveContainers(ctx context.Context, owner string) error {
	ids, err := Containers(ctx, owner)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if out, err := exec.CommandContext(ctx, "docker", append([]string{"rm", "-f"}, ids...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("remove vcsim containers of %q: %w: %s", owner, err, strings.TrimSpace(string(out)))
	}
	return nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
