package adapter

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/syncbuf"
	"github.com/carhop/carhop/parser"
)

// serverPeek reports what its requests find under http.ServerContextKey,
// and writes a line to the server's ErrorLog.
type serverPeek struct {
	found chan any
	base  chan any
}

func (p *serverPeek) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The one-value assertion, as code written for net/http has it: it
	// panics (a 500) when the value is missing.
	hs := r.Context().Value(http.ServerContextKey).(*http.Server)
	hs.ErrorLog.Printf("from the handler")
	p.found <- hs
	p.base <- r.Context().Value(baseKey{})
}

// TestServerContextKey: a handler finds an *http.Server under
// http.ServerContextKey, as under net/http, carrying carhop's settings,
// whatever base or connection context the server was given.
func TestServerContextKey(t *testing.T) {
	base := context.WithValue(context.Background(), baseKey{}, "from base")
	var connGot atomic.Bool // WithConnContext's function found the server in its context
	// The *http.Server's fields compared; Addr, Handler and ErrorLog are
	// checked apart.
	type settings struct {
		ReadHeaderTimeout, IdleTimeout, ReadTimeout, WriteTimeout time.Duration
		MaxHeaderBytes                                            int
	}
	defaults := settings{
		ReadHeaderTimeout: DefaultRequestTimeout,
		IdleTimeout:       DefaultChannelTimeout,
		MaxHeaderBytes:    parser.DefaultMaxHeaderBytes,
	}
	tests := []struct {
		name     string
		opts     []Option
		want     settings
		wantBase any
		viaConn  bool // WithConnContext's function must have found the server too
	}{
		{"defaults", nil, defaults, nil, false},
		{"settings", []Option{WithRequestTimeout(3 * time.Second), WithChannelTimeout(7 * time.Second), WithMaxRequestHeaderSize(8192)}, settings{
			ReadHeaderTimeout: 3 * time.Second,
			IdleTimeout:       7 * time.Second,
			MaxHeaderBytes:    8192,
		}, nil, false},
		{"base context", []Option{WithBaseContext(base)}, defaults, "from base", false},
		{"connection context", []Option{WithBaseContext(base), WithConnContext(func(ctx context.Context, _ net.Conn) context.Context {
			connGot.Store(ctx.Value(http.ServerContextKey) != nil)
			return context.WithValue(ctx, connKey{}, 1)
		})}, defaults, "from base", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logged syncbuf.Buffer
			logger := slog.New(slog.NewTextHandler(&logged, nil))
			peek := &serverPeek{found: make(chan any, 1), base: make(chan any, 1)}
			_, addr := start(t, peek, append(tt.opts, WithLogger(logger))...)
			r := dial(t, addr)
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, _ := r.response(http.MethodGet)
			require.Equal(t, http.StatusOK, resp.StatusCode)

			hs, ok := (<-peek.found).(*http.Server)
			require.True(t, ok)
			assert.Equal(t, "127.0.0.1:0", hs.Addr, "the address as configured, as net/http's")
			assert.True(t, hs.Handler == http.Handler(peek), "the handler given to New")
			got := settings{ReadHeaderTimeout: hs.ReadHeaderTimeout, IdleTimeout: hs.IdleTimeout,
				MaxHeaderBytes: hs.MaxHeaderBytes, ReadTimeout: hs.ReadTimeout, WriteTimeout: hs.WriteTimeout}
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantBase, <-peek.base)
			assert.Contains(t, logged.String(), `level=ERROR msg="from the handler"`, "ErrorLog writes to the server's logger")
			assert.Equal(t, tt.viaConn, connGot.Load(), "WithConnContext's function is given the server in its context")
		})
	}
}

// TestServerContextKeyConnState: the server's ConnState is the function
// WithConnState was given, so code that reports a connection it took
// over (as proxies do for websockets) reaches it.
func TestServerContextKeyConnState(t *testing.T) {
	var (
		mu     sync.Mutex
		states []http.ConnState
	)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs := r.Context().Value(http.ServerContextKey).(*http.Server)
		if hs.ConnState != nil {
			hs.ConnState(nil, http.StateHijacked)
		}
	}), WithConnState(func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		states = append(states, s)
	}))
	r := dial(t, addr)
	r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ := r.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, states, http.StateHijacked)
}
