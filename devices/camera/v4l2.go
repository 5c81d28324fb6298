package camera

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// V4L2 constants from linux/videodev2.h.
const (
	vidiocQueryCap       = 0x80685600 // _IOR('V', 0, struct v4l2_capability), 104 bytes
	v4l2CapVideoCapture  = 0x00000001
	v4l2CapCaptureMPlane = 0x00001000
	v4l2CapDeviceCaps    = 0x80000000
	v4l2CapabilitySize   = 104
	v4l2CapabilitiesAt   = 84
	v4l2DeviceCapsAt     = 88
)

// queryCapture reads the node's capabilities with VIDIOC_QUERYCAP and
// reports whether it captures video. It fails for a node that is not a
// V4L2 device.
func queryCapture(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()

	var buf [v4l2CapabilitySize]byte
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), vidiocQueryCap, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return false, fmt.Errorf("VIDIOC_QUERYCAP on %q: %w", path, errno)
	}
	caps := binary.NativeEndian.Uint32(buf[v4l2CapabilitiesAt:])
	if caps&v4l2CapDeviceCaps != 0 {
		caps = binary.NativeEndian.Uint32(buf[v4l2DeviceCapsAt:])
	}
	return caps&(v4l2CapVideoCapture|v4l2CapCaptureMPlane) != 0, nil
}
