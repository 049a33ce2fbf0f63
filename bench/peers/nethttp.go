package peers

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// NetHTTP serves Hello with the standard library: a goroutine per
// connection.
func NetHTTP(ctx context.Context, addr string, ready func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: Hello, ReadHeaderTimeout: 30 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	err = srv.Close()
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
