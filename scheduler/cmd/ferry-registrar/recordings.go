package main

import (
	"context"
	"fmt"
	"net"

	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
)

// startRecordings starts the recordings server over the node's storage
// roots when it is configured. The returned channel receives the server's
// result once ctx ends, or nil at once when the server is off.
func startRecordings(ctx context.Context, cfg *registrar.Config, recordings *registrar.RecordingsConfig, logger hclog.Logger) (<-chan error, error) {
	done := make(chan error, 1)
	if !recordings.Enabled() {
		done <- nil
		return done, nil
	}

	token, err := registrar.ReadToken(recordings.TokenFile)
	if err != nil {
		return nil, err
	}
	roots := append(append([]string{}, cfg.Roots...), cfg.ReplicaRoots...)
	serverLogger := logger.Named("recordings")
	handler, err := registrar.NewRecordingsHandler(roots, token, serverLogger)
	if err != nil {
		return nil, err
	}
	listener, err := net.Listen("tcp", recordings.Listen)
	if err != nil {
		return nil, fmt.Errorf("recordings.listen %q: %w", recordings.Listen, err)
	}
	go func() { done <- registrar.ServeRecordings(ctx, listener, recordings, handler, serverLogger) }()
	return done, nil
}
