package camera

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// localCamera is a V4L2 capture node found in sysfs.
type localCamera struct {
	// ID is derived from the bus path and the node's index on its device,
	// so it survives a renumbering of /dev/videoN.
	ID    string
	Name  string
	Model string
	// Entry is the sysfs entry name, such as "video0".
	Entry string
	// Node is the host path of the device node.
	Node string
	// BusPath is the parent device's path under /sys/devices, such as
	// "pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0".
	BusPath  string
	PCIBusID string
}

// capabilityFunc reports whether the V4L2 node at path can capture video.
type capabilityFunc func(path string) (bool, error)

var pciAddress = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// scanSysfs lists the capture nodes under root, sorted by ID. A node whose
// capabilities cannot be read counts as a capture node when its sysfs
// index is 0, which is the capture node of a UVC camera.
func scanSysfs(root, devRoot string, canCapture capabilityFunc) ([]localCamera, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read V4L2 devices in %q: %w", root, err)
	}

	var cams []localCamera
	var errs []error
	for _, entry := range entries {
		cam, index, err := readSysfsEntry(root, devRoot, entry.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		capture, err := canCapture(cam.Node)
		if err != nil {
			capture = index == 0
		}
		if capture {
			cams = append(cams, cam)
		}
	}
	sort.Slice(cams, func(i, j int) bool { return cams[i].ID < cams[j].ID })
	return cams, errors.Join(errs...)
}

func readSysfsEntry(root, devRoot, entry string) (localCamera, int, error) {
	dir := filepath.Join(root, entry)
	name, err := readTrimmed(filepath.Join(dir, "name"))
	if err != nil {
		return localCamera{}, 0, fmt.Errorf("read name of V4L2 device %q: %w", entry, err)
	}
	index := 0
	if text, err := readTrimmed(filepath.Join(dir, "index")); err == nil {
		if index, err = strconv.Atoi(text); err != nil {
			return localCamera{}, 0, fmt.Errorf("invalid index %q of V4L2 device %q", text, entry)
		}
	}
	parent, err := filepath.EvalSymlinks(filepath.Join(dir, "device"))
	if err != nil {
		return localCamera{}, 0, fmt.Errorf("resolve parent device of V4L2 device %q: %w", entry, err)
	}

	busPath := parent
	if _, rest, ok := strings.Cut(parent, "/devices/"); ok {
		busPath = rest
	}
	cam := localCamera{
		ID:       "v4l-" + sanitize(filepath.Base(busPath), '_') + "-" + strconv.Itoa(index),
		Name:     name,
		Model:    modelName(name),
		Entry:    entry,
		Node:     filepath.Join(devRoot, entry),
		BusPath:  busPath,
		PCIBusID: lastPCIAddress(busPath),
	}
	return cam, index, nil
}

func readTrimmed(path string) (string, error) {
	data, err := os.ReadFile(path)
	return strings.TrimSpace(string(data)), err
}

// modelName turns a V4L2 card name such as "HD Pro Webcam C920" into a
// device name such as "hd-pro-webcam-c920".
func modelName(name string) string {
	words := strings.FieldsFunc(strings.ToLower(sanitize(name, ' ')), func(r rune) bool { return r == ' ' })
	if len(words) == 0 {
		return "v4l2"
	}
	return strings.Join(words, "-")
}

// lastPCIAddress returns the PCI address nearest to the device in a bus
// path, or "" for a device not on PCI.
func lastPCIAddress(busPath string) string {
	parts := strings.Split(busPath, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if pciAddress.MatchString(parts[i]) {
			return parts[i]
		}
	}
	return ""
}
