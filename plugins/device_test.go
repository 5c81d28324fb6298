package plugins

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestValidateDeviceGroup(t *testing.T) {
	valid := func() *DeviceGroup {
		return &DeviceGroup{
			Vendor:  "ferry",
			Type:    "camera",
			Name:    "uvc",
			Devices: []*DetectedDevice{{ID: "cam-1", Healthy: true}},
			Attributes: map[string]Attribute{
				"fps":     IntAttribute(25, ""),
				"bitrate": IntAttribute(4, "MB/s"),
			},
		}
	}
	cases := []struct {
		name    string
		mutate  func(g *DeviceGroup)
		wantErr string
	}{
		{"valid", func(*DeviceGroup) {}, ""},
		{"missing vendor", func(g *DeviceGroup) { g.Vendor = "" }, "vendor, type and name"},
		{"missing device id", func(g *DeviceGroup) { g.Devices[0].ID = "" }, "device 0 has no ID"},
		{"unknown unit", func(g *DeviceGroup) { g.Attributes["fps"] = IntAttribute(25, "fps") }, `unit "fps"`},
		{"unit on string", func(g *DeviceGroup) { g.Attributes["codec"] = Attribute{String: "h264", Unit: "MB"} }, "not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := valid()
			tc.mutate(g)
			err := ValidateDeviceGroup(g)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateDeviceGroup: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestReservationToProtoNil(t *testing.T) {
	res := reservationToProto(nil)
	if res == nil {
		t.Fatal("reservationToProto(nil) = nil, want an empty reservation")
	}
	if res.GetEnvs() == nil {
		t.Error("envs = nil, want an empty map")
	}
}

func TestFingerprintDropsInvalidGroups(t *testing.T) {
	s := &deviceServer{logger: hclog.NewNullLogger()}
	fp := &DeviceFingerprint{Groups: []*DeviceGroup{
		{Vendor: "ferry", Type: "camera", Name: "uvc", Devices: []*DetectedDevice{{ID: "a"}}},
		{Vendor: "ferry", Type: "camera", Name: ""},
	}}
	resp := s.fingerprintToProto(fp)
	if got := len(resp.GetDeviceGroup()); got != 1 {
		t.Fatalf("groups = %d, want 1", got)
	}
	if empty := s.fingerprintToProto(&DeviceFingerprint{}); empty.DeviceGroup == nil {
		t.Error("empty fingerprint has a nil group list, want an empty one")
	}
}
