package video

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/ferry-video/ferry/plugins"
)

// Fingerprint attribute names of the node's accelerators.
const (
	attrGPUs           = "driver.video.gpus"
	attrDRIRenderNodes = "driver.video.dri_render_nodes"
)

// gpusAll is the gpus value that requests every GPU of the node.
const gpusAll = "all"

// hostDevices locates the host's /proc and /dev, so that tests can point
// them at fixture folders.
type hostDevices struct {
	procRoot string
	devRoot  string
}

func defaultHostDevices() hostDevices { return hostDevices{procRoot: "/proc", devRoot: "/dev"} }

// nvidiaGPUs counts the entries of /proc/driver/nvidia/gpus, one per GPU
// the NVIDIA driver has bound, or else the /dev/nvidia<N> nodes.
func (h hostDevices) nvidiaGPUs() int {
	if entries, err := os.ReadDir(filepath.Join(h.procRoot, "driver", "nvidia", "gpus")); err == nil && len(entries) > 0 {
		return len(entries)
	}
	nodes, _ := filepath.Glob(filepath.Join(h.devRoot, "nvidia[0-9]*"))
	return len(nodes)
}

// driRenderNodes returns the /dev/dri/renderD<N> nodes, sorted.
func (h hostDevices) driRenderNodes() []string {
	nodes, _ := filepath.Glob(filepath.Join(h.devRoot, "dri", "renderD*"))
	sort.Strings(nodes)
	return nodes
}

// addAcceleratorAttributes adds the GPU and render node counts.
func addAcceleratorAttributes(attrs map[string]plugins.Attribute, h hostDevices) {
	attrs[attrGPUs] = plugins.IntAttribute(int64(h.nvidiaGPUs()), "")
	attrs[attrDRIRenderNodes] = plugins.IntAttribute(int64(len(h.driRenderNodes())), "")
}

// parseGPUs returns the GPU count of a gpus value: -1 for "all", 0 when
// unset.
func parseGPUs(value string) (int, error) {
	value = strings.TrimSpace(value)
	switch value {
	case "":
		return 0, nil
	case gpusAll:
		return -1, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("invalid gpus %q: use a positive count or \"all\"", value)
	}
	return n, nil
}

// addAccelerators adds the GPUs and render nodes the task asked for to
// host, and fails when the node cannot provide them.
func addAccelerators(host *container.HostConfig, task *TaskConfig, h hostDevices) error {
	count, err := parseGPUs(task.GPUs)
	if err != nil {
		return err
	}
	if count != 0 {
		available := h.nvidiaGPUs()
		if available == 0 {
			return fmt.Errorf("gpus = %q requested, but this node has no NVIDIA GPUs (none in %s/driver/nvidia/gpus or %s/nvidia[0-9]*): constrain the job on attribute %s > 0",
				task.GPUs, h.procRoot, h.devRoot, attrGPUs)
		}
		if count > available {
			return fmt.Errorf("gpus = %q requested, but this node has %d NVIDIA GPUs: lower gpus or constrain the job on attribute %s", task.GPUs, available, attrGPUs)
		}
		host.DeviceRequests = append(host.DeviceRequests, container.DeviceRequest{
			Driver:       "nvidia",
			Count:        count,
			Capabilities: [][]string{{"gpu"}},
		})
	}

	if task.DRIDevices {
		nodes := h.driRenderNodes()
		if len(nodes) == 0 {
			return fmt.Errorf("dri_devices = true requested, but this node has no render nodes in %s/dri: constrain the job on attribute %s > 0",
				h.devRoot, attrDRIRenderNodes)
		}
		for _, node := range nodes {
			host.Devices = append(host.Devices, container.DeviceMapping{
				PathOnHost:        node,
				PathInContainer:   "/dev/dri/" + filepath.Base(node),
				CgroupPermissions: "rw",
			})
		}
	}
	return nil
}
