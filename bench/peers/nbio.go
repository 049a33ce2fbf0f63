package peers

import (
	"context"
	"time"

	"github.com/lesismal/nbio/nbhttp"
)

// NBIO serves Hello with nbio's nbhttp engine in its net/http mode.
func NBIO(ctx context.Context, addr string, ready func()) error {
	engine := nbhttp.NewEngine(nbhttp.Config{
		Network: "tcp",
		Addrs:   []string{addr},
		Handler: Hello,
	})
	if err := engine.Start(); err != nil {
		return err
	}
	ready()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return engine.Shutdown(sctx)
}
