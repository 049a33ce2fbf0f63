package peers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/carhop/carhop/adapter"
)

// Carhop serves Hello through adapter.New with default settings.
func Carhop(ctx context.Context, addr string, ready func()) error {
	s, err := adapter.New(Hello, adapter.WithListen(addr), adapter.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	<-s.Ready()
	ready()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = s.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
