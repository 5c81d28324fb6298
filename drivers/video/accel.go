package video

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
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
	attrGPUModel       = "driver.video.gpu.model"
	attrDRIRenderNodes = "driver.video.dri_render_nodes"
	attrLocalCameras   = "driver.video.local_cameras"
)

// gpusAll is the gpus value that requests every GPU of the node.
const gpusAll = "all"

// hostDevices locates the host's /proc, /dev and V4L2 sysfs class
// folder, so that tests can point them at fixture folders.
type hostDevices struct {
	procRoot  string
	devRoot   string
	sysfsRoot string
}

func defaultHostDevices() hostDevices {
	return hostDevices{procRoot: "/proc", devRoot: "/dev", sysfsRoot: "/sys/class/video4linux"}
}

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

// nvidiaGPUModels returns the distinct "Model:" values of
// /proc/driver/nvidia/gpus/*/information, sorted. The NVIDIA driver writes
// one such file per GPU.
func (h hostDevices) nvidiaGPUModels() []string {
	files, _ := filepath.Glob(filepath.Join(h.procRoot, "driver", "nvidia", "gpus", "*", "information"))
	seen := map[string]bool{}
	var models []string
	for _, file := range files {
		model := readModelLine(file)
		if model != "" && !seen[model] {
			seen[model] = true
			models = append(models, model)
		}
	}
	sort.Strings(models)
	return models
}

// readModelLine returns the value of the "Model:" line of an NVIDIA
// information file, or "" when the file has none or cannot be read.
func readModelLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if value, ok := strings.CutPrefix(scanner.Text(), "Model:"); ok {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// localCameras counts the V4L2 capture nodes in the sysfs class folder.
// It counts a node as a capture node when its index file is 0 or absent,
// because a UVC camera's capture node has index 0 and its metadata node
// index 1.
// NOTE: a capture device whose driver gives its capture node another
// index is not counted, since reading V4L2 capabilities needs an ioctl
// on the device node.
func (h hostDevices) localCameras() int {
	entries, err := os.ReadDir(h.sysfsRoot)
	if err != nil {
		return 0
	}
	count := 0
	for _, entry := range entries {
		data, err := os.ReadFile(filepath.Join(h.sysfsRoot, entry.Name(), "index"))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			count++
		case err == nil && strings.TrimSpace(string(data)) == "0":
			count++
		}
	}
	return count
}

// addAcceleratorAttributes adds the GPU and render node counts, the GPU
// models when the NVIDIA driver lists them, and the V4L2 camera count.
func addAcceleratorAttributes(attrs map[string]plugins.Attribute, h hostDevices) {
	attrs[attrGPUs] = plugins.IntAttribute(int64(h.nvidiaGPUs()), "")
	attrs[attrDRIRenderNodes] = plugins.IntAttribute(int64(len(h.driRenderNodes())), "")
	attrs[attrLocalCameras] = plugins.IntAttribute(int64(h.localCameras()), "")
	if models := h.nvidiaGPUModels(); len(models) > 0 {
		attrs[attrGPUModel] = plugins.StringAttribute(strings.Join(models, ","))
	}
}

// gpuDevicePrefix starts a gpus value that names GPUs by index or UUID, as
// Docker's --gpus flag does: "device=0,2" or "device=GPU-3a5c...".
const gpuDevicePrefix = "device="

// gpuRequest is a parsed gpus value: Count GPUs (-1 for all), or the GPUs
// named in IDs.
type gpuRequest struct {
	Count int
	IDs   []string
}

func (r gpuRequest) empty() bool { return r.Count == 0 && len(r.IDs) == 0 }

// parseGPUs parses a task's gpus value: empty, "all", a positive count, or
// "device=" followed by comma-separated GPU indexes or UUIDs.
func parseGPUs(value string) (gpuRequest, error) {
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return gpuRequest{}, nil
	case value == gpusAll:
		return gpuRequest{Count: -1}, nil
	case strings.HasPrefix(value, gpuDevicePrefix):
		var ids []string
		for _, id := range strings.Split(strings.TrimPrefix(value, gpuDevicePrefix), ",") {
			id = strings.TrimSpace(id)
			if id == "" {
				return gpuRequest{}, fmt.Errorf("invalid gpus %q: an empty GPU id: list indexes or UUIDs such as \"device=0,1\"", value)
			}
			ids = append(ids, id)
		}
		return gpuRequest{IDs: ids}, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		return gpuRequest{}, fmt.Errorf("invalid gpus %q: use a positive count, \"all\", or \"device=\" with GPU indexes or UUIDs", value)
	}
	return gpuRequest{Count: n}, nil
}

// checkGPUIndexes fails when an id that is a GPU index is not below the
// node's GPU count. UUIDs cannot be checked here; the NVIDIA runtime
// rejects unknown ones when the container starts.
func checkGPUIndexes(task *TaskConfig, ids []string, available int) error {
	for _, id := range ids {
		if index, err := strconv.Atoi(id); err == nil && (index < 0 || index >= available) {
			return fmt.Errorf("gpus = %q names GPU %d, but this node has %d NVIDIA GPUs (indexes 0 to %d): constrain the job on attribute %s",
				task.GPUs, index, available, available-1, attrGPUs)
		}
	}
	return nil
}

// addAccelerators adds the GPUs and render nodes the task asked for to
// host, and fails when the node cannot provide them.
func addAccelerators(host *container.HostConfig, task *TaskConfig, h hostDevices) error {
	request, err := parseGPUs(task.GPUs)
	if err != nil {
		return err
	}
	if !request.empty() {
		available := h.nvidiaGPUs()
		if available == 0 {
			return fmt.Errorf("gpus = %q requested, but this node has no NVIDIA GPUs (none in %s/driver/nvidia/gpus or %s/nvidia[0-9]*): constrain the job on attribute %s > 0",
				task.GPUs, h.procRoot, h.devRoot, attrGPUs)
		}
		if request.Count > available {
			return fmt.Errorf("gpus = %q requested, but this node has %d NVIDIA GPUs: lower gpus or constrain the job on attribute %s", task.GPUs, available, attrGPUs)
		}
		if err := checkGPUIndexes(task, request.IDs, available); err != nil {
			return err
		}
		host.DeviceRequests = append(host.DeviceRequests, container.DeviceRequest{
			Driver:       "nvidia",
			Count:        request.Count,
			DeviceIDs:    request.IDs,
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
