package camera

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
)

// fourcc packs a four-character code the way videodev2.h's v4l2_fourcc
// does.
func fourcc(code string) uint32 {
	return uint32(code[0]) | uint32(code[1])<<8 | uint32(code[2])<<16 | uint32(code[3])<<24
}

// fakeQuerier returns fixed formats per device node path and fails for
// other nodes like a device without the ioctl.
type fakeQuerier struct {
	formats   map[string]pixFormat
	intervals map[string]frameInterval
}

func (q fakeQuerier) CaptureFormat(node string) (pixFormat, error) {
	if f, ok := q.formats[node]; ok {
		return f, nil
	}
	return pixFormat{}, errors.New("VIDIOC_G_FMT: inappropriate ioctl for device")
}

func (q fakeQuerier) TimePerFrame(node string) (frameInterval, error) {
	if f, ok := q.intervals[node]; ok {
		return f, nil
	}
	return frameInterval{}, errors.New("VIDIOC_G_PARM: inappropriate ioctl for device")
}

func TestCodecName(t *testing.T) {
	cases := []struct {
		code uint32
		want string
	}{
		{fourcc("MJPG"), "mjpeg"},
		{fourcc("JPEG"), "mjpeg"},
		{fourcc("H264"), "h264"},
		{fourcc("YUYV"), "yuyv"},
		{fourcc("NV12"), "nv12"},
		{fourcc("Y10 "), "y10"},
		{fourcc("Z16 "), "z16"},
		{0, ""},
		{fourcc("a\x01bc"), ""},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := codecName(tc.code); got != tc.want {
				t.Errorf("codecName(%#x) = %q, want %q", tc.code, got, tc.want)
			}
		})
	}
}

func TestFramesPerSecond(t *testing.T) {
	cases := []struct {
		name string
		tpf  frameInterval
		want int64
	}{
		{"30 fps", frameInterval{1, 30}, 30},
		{"ntsc", frameInterval{1001, 30000}, 30},
		{"2 seconds per frame", frameInterval{2, 1}, 1},
		{"under half fps", frameInterval{3, 1}, 0},
		{"zero numerator", frameInterval{0, 30}, 0},
		{"zero denominator", frameInterval{1, 0}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := framesPerSecond(tc.tpf); got != tc.want {
				t.Errorf("framesPerSecond(%+v) = %d, want %d", tc.tpf, got, tc.want)
			}
		})
	}
}

func TestResolutionOf(t *testing.T) {
	cases := []struct {
		format pixFormat
		want   string
	}{
		{pixFormat{Width: 1280, Height: 720}, "1280x720"},
		{pixFormat{Width: 0, Height: 720}, ""},
		{pixFormat{Width: 640}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if got := resolutionOf(tc.format); got != tc.want {
				t.Errorf("resolutionOf(%+v) = %q, want %q", tc.format, got, tc.want)
			}
		})
	}
}

func int64Ptr(n int64) *int64 { return &n }

func TestLocalAttributes(t *testing.T) {
	reported := reportedFormat{Resolution: "1280x720", FPS: 30, Codec: "mjpeg"}
	cases := []struct {
		name     string
		decl     *LocalCamera
		reported reportedFormat
		want     map[string]plugins.Attribute
	}{
		{"nothing known", nil, reportedFormat{}, map[string]plugins.Attribute{
			attrLocation: plugins.StringAttribute("depot"),
		}},
		{"reported only", nil, reported, map[string]plugins.Attribute{
			attrLocation:   plugins.StringAttribute("depot"),
			attrResolution: plugins.StringAttribute("1280x720"),
			attrFPS:        plugins.IntAttribute(30, ""),
			attrCodec:      plugins.StringAttribute("mjpeg"),
		}},
		{"declared wins", &LocalCamera{Location: "gate", Resolution: "1920x1080", FPS: int64Ptr(25), Codec: "h264"}, reported, map[string]plugins.Attribute{
			attrLocation:   plugins.StringAttribute("gate"),
			attrResolution: plugins.StringAttribute("1920x1080"),
			attrFPS:        plugins.IntAttribute(25, ""),
			attrCodec:      plugins.StringAttribute("h264"),
		}},
		{"declared fills gaps", &LocalCamera{FPS: int64Ptr(15)}, reportedFormat{Codec: "yuyv"}, map[string]plugins.Attribute{
			attrLocation: plugins.StringAttribute("depot"),
			attrFPS:      plugins.IntAttribute(15, ""),
			attrCodec:    plugins.StringAttribute("yuyv"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := localAttributes(&Config{Location: "depot"}, tc.decl, tc.reported, false)
			tc.want[attrRecordings] = plugins.BoolAttribute(false)
			tc.want[attrSource] = plugins.StringAttribute("v4l2")
			if len(got) != len(tc.want) {
				t.Errorf("attributes = %+v, want %+v", got, tc.want)
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("attribute %s = %+v, want %+v", k, got[k], want)
				}
			}
		})
	}
}

func TestLocalCameraValidate(t *testing.T) {
	cases := []struct {
		name    string
		cams    []*LocalCamera
		wantErr string
	}{
		{"missing match", []*LocalCamera{{Resolution: "1280x720"}}, "local_camera[0]: missing match"},
		{"malformed resolution", []*LocalCamera{{Match: "v4l-a-0", Resolution: "1280*720"}}, `invalid resolution "1280*720"`},
		{"zero fps", []*LocalCamera{{Match: "v4l-a-0", FPS: int64Ptr(0)}}, "invalid fps 0"},
		{"negative fps", []*LocalCamera{{Match: "v4l-a-0", FPS: int64Ptr(-5)}}, "invalid fps -5"},
		{"duplicate match", []*LocalCamera{{Match: "v4l-a-0"}, {Match: "v4l-a-0"}}, "local_camera[1]: match \"v4l-a-0\" is in another"},
		{"valid", []*LocalCamera{{Match: "v4l-a-0", Resolution: "1280x720", FPS: int64Ptr(30)}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Config{LocalCameras: tc.cams}).validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// localGroup scans f with a fake ioctl that reports 1280x720 MJPG at 1/30 s
// for the webcam and returns the webcam's group.
func localGroup(t *testing.T, f fixture, decls []*LocalCamera) (*plugins.DeviceGroup, *scan) {
	t.Helper()
	cfg := configFor(f)
	cfg.LocalCameras = decls
	p := newTestPlugin(t, cfg)
	node := filepath.Join(f.devRoot, webcam.entry)
	p.formats = fakeQuerier{
		formats:   map[string]pixFormat{node: {Width: 1280, Height: 720, PixelFormat: fourcc("MJPG")}},
		intervals: map[string]frameInterval{node: {Numerator: 1, Denominator: 30}},
	}
	s := p.scan(context.Background())
	for _, g := range buildGroups(s) {
		if err := plugins.ValidateDeviceGroup(g); err != nil {
			t.Errorf("group %s invalid: %v", g.Name, err)
		}
		if g.Name == "hd-pro-webcam-c920" {
			return g, s
		}
	}
	t.Fatalf("no group hd-pro-webcam-c920 in %+v", buildGroups(s))
	return nil, nil
}

func TestFingerprintLocalFormat(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam, grabber})
	cases := []struct {
		name  string
		decls []*LocalCamera
		want  map[string]plugins.Attribute
	}{
		{"reported by device", nil, map[string]plugins.Attribute{
			attrResolution: plugins.StringAttribute("1280x720"),
			attrFPS:        plugins.IntAttribute(30, ""),
			attrCodec:      plugins.StringAttribute("mjpeg"),
		}},
		{"declared by id", []*LocalCamera{{Match: "v4l-1_2_1_0-0", Location: "gate", Resolution: "640x480", FPS: int64Ptr(15), Codec: "yuyv"}}, map[string]plugins.Attribute{
			attrLocation:   plugins.StringAttribute("gate"),
			attrResolution: plugins.StringAttribute("640x480"),
			attrFPS:        plugins.IntAttribute(15, ""),
			attrCodec:      plugins.StringAttribute("yuyv"),
		}},
		{"declared by bus path", []*LocalCamera{{Match: webcam.busPath, Location: "gate"}}, map[string]plugins.Attribute{
			attrLocation:   plugins.StringAttribute("gate"),
			attrResolution: plugins.StringAttribute("1280x720"),
			attrCodec:      plugins.StringAttribute("mjpeg"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, _ := localGroup(t, f, tc.decls)
			for k, want := range tc.want {
				if got := g.Attributes[k]; got != want {
					t.Errorf("attribute %s = %+v, want %+v", k, got, want)
				}
			}
		})
	}
}

// TestFingerprintIoctlFailure checks that the grabber, whose node does not
// answer the fake ioctl, gets no format attributes.
func TestFingerprintIoctlFailure(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam, grabber})
	_, s := localGroup(t, f, nil)
	for _, g := range buildGroups(s) {
		if g.Name != "hauppauge-wintv" {
			continue
		}
		for _, k := range []string{attrResolution, attrFPS, attrCodec} {
			if got, ok := g.Attributes[k]; ok {
				t.Errorf("attribute %s = %+v, want it left out", k, got)
			}
		}
		return
	}
	t.Fatal("no group hauppauge-wintv")
}

func TestUnmatchedLocalCameraReported(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam})
	_, s := localGroup(t, f, []*LocalCamera{
		{Match: "v4l-1_2_1_0-0", Codec: "h264"},
		{Match: "v4l-missing-0", Location: "dock"},
	})
	if len(s.unmatched) != 1 || s.unmatched[0] != "v4l-missing-0" {
		t.Fatalf("unmatched = %v, want [v4l-missing-0]", s.unmatched)
	}
	stats := buildStats(s, s.at)
	if len(stats) != 1 {
		t.Fatalf("stats groups = %d, want 1", len(stats))
	}
	inst, ok := stats[0].InstanceStats["v4l-1_2_1_0-0"]
	if !ok {
		t.Fatalf("no stats for the webcam in %+v", stats[0].InstanceStats)
	}
	got := inst.Stats.Attributes["unmatched_local_camera"]
	if got == nil || got.String != "v4l-missing-0" {
		t.Errorf("unmatched_local_camera stat = %+v, want v4l-missing-0", got)
	}
}

func TestUnmatchedLocalCameraLoggedOnce(t *testing.T) {
	f := newFixture(t, []sysfsNode{webcam})
	cfg := configFor(f)
	cfg.LocalCameras = []*LocalCamera{{Match: "v4l-missing-0"}}
	p := newTestPlugin(t, cfg)
	var logs bytes.Buffer
	p.logger = hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})

	p.scan(context.Background())
	p.scan(context.Background())
	if n := strings.Count(logs.String(), "local_camera block matches no camera"); n != 1 {
		t.Errorf("warning logged %d times, want once:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "match=v4l-missing-0") {
		t.Errorf("logs = %q, want match=v4l-missing-0", logs.String())
	}
}
