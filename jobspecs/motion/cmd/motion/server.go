package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// shutdownTimeout bounds the wait for open HTTP requests after SIGTERM,
// well inside the jobspecs' 10s kill_timeout.
const shutdownTimeout = 3 * time.Second

// statusServer is the HTTP endpoint serving /health and /events.
type statusServer struct {
	server *http.Server
	// served receives the result of Serve once it returns.
	served chan error
	stderr io.Writer
}

func startStatusServer(listener net.Listener, handler http.Handler, stderr io.Writer) *statusServer {
	s := &statusServer{
		server: &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second},
		served: make(chan error, 1),
		stderr: stderr,
	}
	go func() { s.served <- s.server.Serve(listener) }()
	fmt.Fprintf(stderr, "motion: serving /health and /events on %s\n", listener.Addr())
	return s
}

// serveUntil keeps serving until ctx ends, then shuts the server down.
func (s *statusServer) serveUntil(ctx context.Context) {
	select {
	case err := <-s.served:
		fmt.Fprintf(s.stderr, "motion: HTTP endpoint failed: %v\n", err)
		return
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := s.server.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(s.stderr, "motion: HTTP endpoint shutdown: %v\n", err)
	}
}
