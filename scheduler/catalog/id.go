package catalog

import "github.com/ferry-video/ferry/drivers/video/inventory"

// SanitizeID maps a camera folder name to the id that Consul tags, KV keys,
// Nomad task group names and Nomad metadata can contain. It is
// inventory.SanitizeID, so the registrar and the video driver agree on it.
func SanitizeID(id string) string {
	return inventory.SanitizeID(id)
}

// IsSafeID reports whether id needs no sanitising.
func IsSafeID(id string) bool {
	return inventory.IsSafeID(id)
}
