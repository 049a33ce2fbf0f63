package adapter

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/carhop/carhop/parser"
)

// httpServer describes the server as net/http would to a handler that
// looks for its *http.Server under http.ServerContextKey: net/http/pprof
// reads WriteTimeout there, panic-recovery middleware logs to ErrorLog,
// x/net's h2c hands it to HTTP/2 as BaseConfig, and code written for
// net/http type-asserts it without checking, so a nil would panic it.
// The fields carry carhop's settings where they mean what net/http's do:
// the head's timeout, the idle timeout, the head's limit, the logger, the
// connection-state hook. WriteTimeout stays zero: carhop's write timeout
// bounds a pause in the client's reading, not the whole response as
// net/http's does. The value only describes: carhop reads none of it
// back, and its methods (Shutdown, Close) do not reach carhop.
func (c *config) httpServer(h http.Handler) *http.Server {
	headerBytes := c.limits.MaxHeaderBytes
	if headerBytes <= 0 {
		headerBytes = parser.DefaultMaxHeaderBytes
	}
	var addr string
	if len(c.listen) > 0 {
		addr = c.listen[0]
	}
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: c.requestTimeout,
		IdleTimeout:       c.channelTimeout,
		MaxHeaderBytes:    headerBytes,
		ConnState:         c.connState,
		ErrorLog:          slog.NewLogLogger(c.logger.Handler(), slog.LevelError),
	}
}

// withServer is the context every connection's and request's context
// derives from, as in net/http: the base context (WithBaseContext's, or
// context.Background()) with the server under http.ServerContextKey.
func withServer(base context.Context, hs *http.Server) context.Context {
	if base == nil {
		base = context.Background()
	}
	return &serverContext{base, hs}
}

// serverContext is context.WithValue's, but passes AfterFunc on to the
// base context, so that a request's context still registers with a base
// that implements it rather than have the context package start a
// goroutine per request to watch it (requestContext.Done). Derived from
// Background alone it has no Done channel, and nothing registers.
type serverContext struct {
	context.Context
	hs *http.Server
}

func (c *serverContext) Value(key any) any {
	if key == http.ServerContextKey {
		return c.hs
	}
	return c.Context.Value(key)
}

func (c *serverContext) AfterFunc(f func()) (stop func() bool) {
	return context.AfterFunc(c.Context, f)
}
