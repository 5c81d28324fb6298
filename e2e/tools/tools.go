//go:build tools

// Package tools pins the versions of programs that the end-to-end tests run.
package tools

import _ "github.com/hashicorp/consul"
