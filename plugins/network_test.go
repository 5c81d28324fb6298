package plugins

import (
	"reflect"
	"testing"
)

func TestNetIsolationRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *NetworkIsolation
	}{
		{"nil", nil},
		{"without hosts", &NetworkIsolation{Mode: NetIsolationGroup, Path: "/var/run/netns/a", Labels: map[string]string{"k": "v"}}},
		{"with hosts", &NetworkIsolation{Mode: NetIsolationGroup, Path: "/p", Hosts: &HostsConfig{Hostname: "cam", Address: "172.26.64.2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := netIsolationFromProto(netIsolationToProto(tt.in))
			if !reflect.DeepEqual(got, tt.in) {
				t.Errorf("round trip = %+v, want %+v", got, tt.in)
			}
		})
	}
}
