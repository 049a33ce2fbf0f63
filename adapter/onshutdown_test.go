package adapter

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hijacked connection (a websocket) keeps its handler running, and
// Shutdown waits for running handlers: RegisterOnShutdown's functions,
// run when the drain begins, are how an application ends them. Close runs
// none.
func TestRegisterOnShutdown(t *testing.T) {
	for _, tt := range []struct {
		name      string
		close     bool // Close instead of Shutdown
		wantHooks int64
	}{
		{"Shutdown runs the hooks, which end the hijacked connection", false, 1},
		{"Close runs no hook", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				hijacked []net.Conn
				hooks    atomic.Int64
			)
			took := make(chan struct{}, 1)
			s, err := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				mu.Lock()
				hijacked = append(hijacked, c)
				mu.Unlock()
				took <- struct{}{}
				_, _ = io.Copy(io.Discard, c) // until the connection ends
				_ = c.Close()
			}), WithListen("127.0.0.1:0"), WithThreads(2), WithEventLoops(1), WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			s.RegisterOnShutdown(func() {
				hooks.Add(1)
				mu.Lock()
				defer mu.Unlock()
				for _, c := range hijacked {
					_ = c.Close()
				}
			})
			served := make(chan error, 1)
			go func() { served <- s.Serve() }()
			<-s.Ready()

			c := dial(t, s.Addrs()[0].String())
			c.send("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n")
			select {
			case <-took:
			case <-time.After(10 * time.Second):
				t.Fatal("handler did not hijack")
			}
			if tt.close {
				require.NoError(t, s.Close())
				_ = c.c.Close() // the hijacked handler's connection ends with the client's
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				require.NoError(t, s.Shutdown(ctx), "the hook ended the hijacked handler, so the drain completed")
			}
			select {
			case err := <-served:
				assert.ErrorIs(t, err, http.ErrServerClosed)
			case <-time.After(10 * time.Second):
				t.Fatal("Serve did not return")
			}
			assert.Equal(t, tt.wantHooks, hooks.Load())
		})
	}
}
