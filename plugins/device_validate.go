package plugins

import (
	"errors"
	"fmt"
)

// validUnits are the attribute units Nomad 1.6 to 2.0 accept. A device
// group with any other unit makes Nomad drop the whole plugin.
var validUnits = func() map[string]bool {
	units := map[string]bool{
		"MHz": true, "GHz": true,
		"mW": true, "W": true, "kW": true, "MW": true, "GW": true,
	}
	for _, u := range []string{
		"KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
		"kB", "KB", "MB", "GB", "TB", "PB", "EB",
	} {
		units[u] = true
		units[u+"/s"] = true
	}
	return units
}()

// ValidateDeviceGroup checks a group the way Nomad's device manager does:
// vendor, type, name and every device ID are set, and every attribute unit
// is one Nomad accepts.
func ValidateDeviceGroup(g *DeviceGroup) error {
	if g == nil {
		return errors.New("device group is nil")
	}
	if g.Vendor == "" || g.Type == "" || g.Name == "" {
		return fmt.Errorf("device group %q: vendor, type and name must all be set", g.Vendor+"/"+g.Type+"/"+g.Name)
	}
	for i, d := range g.Devices {
		if d == nil || d.ID == "" {
			return fmt.Errorf("device group %q: device %d has no ID", g.Vendor+"/"+g.Type+"/"+g.Name, i)
		}
	}
	for key, attr := range g.Attributes {
		if attr.Unit == "" {
			continue
		}
		if attr.Kind != AttributeInt && attr.Kind != AttributeFloat {
			return fmt.Errorf("device group %q: attribute %q has unit %q but is not a number", g.Vendor+"/"+g.Type+"/"+g.Name, key, attr.Unit)
		}
		if !validUnits[attr.Unit] {
			return fmt.Errorf("device group %q: attribute %q has unit %q, which Nomad rejects", g.Vendor+"/"+g.Type+"/"+g.Name, key, attr.Unit)
		}
	}
	return nil
}
