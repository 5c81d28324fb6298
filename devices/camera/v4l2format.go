package camera

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// V4L2 format ioctls and struct layouts from linux/videodev2.h.
//
// NOTE: the sizes are those of 64-bit Linux (amd64, arm64). struct
// v4l2_format contains a union with pointers, so on 32-bit Linux it is 204
// bytes and VIDIOC_G_FMT has another number.
const (
	v4l2BufTypeVideoCapture = 1

	// vidiocGFmt is _IOWR('V', 4, struct v4l2_format).
	vidiocGFmt     = 0xC0D05604
	v4l2FormatSize = 208
	// The union fmt starts at byte 8, after __u32 type and padding to the
	// union's pointer alignment. struct v4l2_pix_format starts with
	// __u32 width, height and pixelformat.
	v4l2PixWidthAt       = 8
	v4l2PixHeightAt      = 12
	v4l2PixPixelFormatAt = 16

	// vidiocGParm is _IOWR('V', 21, struct v4l2_streamparm).
	vidiocGParm        = 0xC0CC5615
	v4l2StreamparmSize = 204
	// The union parm starts at byte 4. struct v4l2_captureparm has __u32
	// capability and capturemode, then struct v4l2_fract timeperframe.
	v4l2TimePerFrameNumAt = 12
	v4l2TimePerFrameDenAt = 16
)

// pixFormat is the current capture format of a V4L2 node.
type pixFormat struct {
	Width, Height uint32
	// PixelFormat is a fourcc code such as 'M','J','P','G' in little-endian
	// byte order.
	PixelFormat uint32
}

// frameInterval is the time between frames in seconds, as a fraction.
type frameInterval struct {
	Numerator, Denominator uint32
}

// formatQuerier reads the current capture format of a V4L2 node.
type formatQuerier interface {
	// CaptureFormat runs VIDIOC_G_FMT for the single-planar capture type.
	CaptureFormat(node string) (pixFormat, error)
	// TimePerFrame runs VIDIOC_G_PARM for the capture type.
	TimePerFrame(node string) (frameInterval, error)
}

// ioctlQuerier is the formatQuerier of real device nodes.
type ioctlQuerier struct{}

func (ioctlQuerier) CaptureFormat(node string) (pixFormat, error) {
	var buf [v4l2FormatSize]byte
	binary.NativeEndian.PutUint32(buf[0:], v4l2BufTypeVideoCapture)
	if err := ioctlOnNode(node, vidiocGFmt, "VIDIOC_G_FMT", buf[:]); err != nil {
		return pixFormat{}, err
	}
	return pixFormat{
		Width:       binary.NativeEndian.Uint32(buf[v4l2PixWidthAt:]),
		Height:      binary.NativeEndian.Uint32(buf[v4l2PixHeightAt:]),
		PixelFormat: binary.NativeEndian.Uint32(buf[v4l2PixPixelFormatAt:]),
	}, nil
}

func (ioctlQuerier) TimePerFrame(node string) (frameInterval, error) {
	var buf [v4l2StreamparmSize]byte
	binary.NativeEndian.PutUint32(buf[0:], v4l2BufTypeVideoCapture)
	if err := ioctlOnNode(node, vidiocGParm, "VIDIOC_G_PARM", buf[:]); err != nil {
		return frameInterval{}, err
	}
	return frameInterval{
		Numerator:   binary.NativeEndian.Uint32(buf[v4l2TimePerFrameNumAt:]),
		Denominator: binary.NativeEndian.Uint32(buf[v4l2TimePerFrameDenAt:]),
	}, nil
}

// ioctlOnNode opens node without blocking and runs one ioctl on buf, which
// must be the size encoded in request.
func ioctlOnNode(node string, request uintptr, name string, buf []byte) error {
	f, err := os.OpenFile(node, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), request, uintptr(unsafe.Pointer(&buf[0])))
	if errno != 0 {
		return fmt.Errorf("%s on %q: %w", name, node, errno)
	}
	return nil
}

// reportedFormat is the capture format a device reports. Empty
// or zero fields are unknown.
type reportedFormat struct {
	Resolution string
	FPS        int64
	Codec      string
}

// codecNames maps V4L2 fourcc codes to the codec attribute. Other codes
// become their fourcc in lower case.
var codecNames = map[string]string{
	"MJPG": "mjpeg",
	"JPEG": "mjpeg",
	"H264": "h264",
	"HEVC": "hevc",
	"VP80": "vp8",
	"VP90": "vp9",
	"YUYV": "yuyv",
	"UYVY": "uyvy",
	"NV12": "nv12",
	"YU12": "yuv420",
	"GREY": "gray",
	"RGB3": "rgb24",
	"BGR3": "bgr24",
}

// codecName returns the codec attribute of a fourcc code, or "" for 0 or a
// code with bytes other than ASCII letters, digits and trailing spaces.
func codecName(fourcc uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], fourcc)
	code := strings.TrimRight(string(b[:]), " ")
	if code == "" {
		return ""
	}
	for _, r := range code {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	if name, ok := codecNames[code]; ok {
		return name
	}
	return strings.ToLower(code)
}

// framesPerSecond returns the frame rate of a time per frame, rounded to
// the nearest integer (1001/30000 s gives 30), or 0 when it is unknown.
func framesPerSecond(tpf frameInterval) int64 {
	if tpf.Numerator == 0 || tpf.Denominator == 0 {
		return 0
	}
	return int64(math.Round(float64(tpf.Denominator) / float64(tpf.Numerator)))
}

// resolutionOf returns "<width>x<height>", or "" when either is 0.
func resolutionOf(f pixFormat) string {
	if f.Width == 0 || f.Height == 0 {
		return ""
	}
	return fmt.Sprintf("%dx%d", f.Width, f.Height)
}
