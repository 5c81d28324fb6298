package video

import (
	"strings"
	"testing"

	"github.com/ferry-video/ferry/plugins"
)

func TestCameraDeletionsAcrossFingerprints(t *testing.T) {
	healthy := func(cameras ...string) *plugins.Fingerprint {
		attrs := map[string]plugins.Attribute{attrVersion: plugins.StringAttribute("28.2.2")}
		for _, c := range cameras {
			attrs[attrCameraPrefix+c] = plugins.IntAttribute(100, "B")
		}
		return &plugins.Fingerprint{Health: plugins.HealthHealthy, Attributes: attrs}
	}
	unhealthy := &plugins.Fingerprint{Health: plugins.HealthUnhealthy, Attributes: map[string]plugins.Attribute{}}

	steps := []struct {
		name        string
		fp          *plugins.Fingerprint
		wantDeleted []string
		wantKept    []string
	}{
		{"first scan", healthy("north", "south"), nil, []string{"north", "south"}},
		{"south removed", healthy("north"), []string{"south"}, []string{"north"}},
		{"docker down", unhealthy, nil, nil},
		{"back without south", healthy("north"), nil, []string{"north"}},
		{"north removed", healthy(), []string{"north"}, nil},
	}
	published := map[string]bool{}
	for _, step := range steps {
		sent := withCameraDeletions(step.fp, published)
		for _, c := range step.wantDeleted {
			attr, ok := sent.Attributes[attrCameraPrefix+c]
			if !ok || attr.Kind != plugins.AttributeString || attr.String != "" {
				t.Errorf("%s: attribute for camera %q = %+v (present %v), want an empty string", step.name, c, attr, ok)
			}
		}
		for _, c := range step.wantKept {
			if attr := sent.Attributes[attrCameraPrefix+c]; attr.Int != 100 {
				t.Errorf("%s: attribute for camera %q = %+v, want 100 bytes", step.name, c, attr)
			}
		}
		cameraKeys := 0
		for key := range sent.Attributes {
			if strings.HasPrefix(key, attrCameraPrefix) {
				cameraKeys++
			}
		}
		if want := len(step.wantDeleted) + len(step.wantKept); cameraKeys != want {
			t.Errorf("%s: %d camera attributes sent, want %d", step.name, cameraKeys, want)
		}
		for key, attr := range step.fp.Attributes {
			if strings.HasPrefix(key, attrCameraPrefix) && attr.Kind == plugins.AttributeString {
				t.Errorf("%s: the scanned fingerprint gained deletion %q", step.name, key)
			}
		}
	}
}
