package sfemu

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve serves the emulator on ln until ctx is done, then releases hanging
// requests (Close) and shuts the listener down, giving requests in progress
// up to 5 seconds. It is what a command that runs the emulator as its own
// process needs: ctx from signal.NotifyContext.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Close()
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
