package inventory

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// unsafeChars matches what a sanitised camera id may not contain. The rest
// pass unchanged through Consul tags, KV keys, Nomad task group names and a
// comma-separated Nomad metadata value.
var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// SanitizeID maps a camera folder name to the camera id that the registrar
// publishes and the video driver accepts, made only of letters, digits, '.',
// '_' and '-'. A name that needs no change is returned as is. Any other name
// gets its unsafe characters replaced by '_' and a suffix of 8 hex digits
// from its SHA-256 hash, so two names collide only by a hash collision.
func SanitizeID(name string) string {
	clean := unsafeChars.ReplaceAllString(name, "_")
	if clean == name && name != "" {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return clean + "-" + hex.EncodeToString(sum[:4])
}

// IsSafeID reports whether id needs no sanitising.
func IsSafeID(id string) bool {
	return id != "" && !unsafeChars.MatchString(id)
}
