package peers

import (
	"context"
	"net"

	"github.com/valyala/fasthttp"
)

// FastHTTP serves Body (and Big) with fasthttp's own API (not net/http): the fastest
// well-known Go HTTP server, and a different programming model.
func FastHTTP(ctx context.Context, addr string, ready func()) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		c.SetContentType("text/plain")
		if string(c.Path()) == BigPath {
			c.Response.SetBodyRaw(Big) // shared, not copied: Big never changes
			return
		}
		c.SetBodyString(Body)
	}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	ready()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	err = srv.ShutdownWithContext(context.Background())
	if serr := <-served; serr != nil && err == nil {
		err = serr
	}
	return err
}
