//go:build !linux

package registrar

import (
	"context"
	"errors"

	"github.com/hashicorp/go-hclog"
)

// Watcher is a stub outside Linux, where the registrar relies on its
// periodic scan alone.
type Watcher struct{}

// NewWatcher returns an error outside Linux.
func NewWatcher(roots []string, log hclog.Logger) (*Watcher, error) {
	return nil, errors.New("watching camera storage needs inotify, which only Linux has; changes wait for the next scan")
}

// Run returns at once.
func (w *Watcher) Run(ctx context.Context, changes chan<- struct{}) {}
