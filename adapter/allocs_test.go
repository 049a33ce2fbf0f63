//go:build !race

// The race detector changes what allocates (sync.Pool drops items at
// random under it), so allocation guards build without it; .ci/test runs
// them apart.

package adapter

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel"
)

// sinkConn is a socket that takes everything written to it.
type sinkConn struct{ out bytes.Buffer }

var errSink = errors.New("sinkConn: not supported")

func (c *sinkConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *sinkConn) OutboundBuffered() int       { return 0 }
func (c *sinkConn) Wake() error                 { return nil }
func (c *sinkConn) Close() error                { return nil }
func (c *sinkConn) CloseWrite() error           { return nil }
func (c *sinkConn) TryWrite(pre, p []byte) (int, error) {
	c.out.Write(pre)
	c.out.Write(p)
	return len(pre) + len(p), nil
}
func (c *sinkConn) SendFile(*os.File, int64, int64) (int, error) { return 0, errSink }
func (c *sinkConn) RemoteAddr() net.Addr                         { return remoteAddr }

var remoteAddr net.Addr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}

// TestRequestAllocations guards the cost of a request between the event
// loop and the handler: a browser-like GET, parsed, turned into an
// *http.Request, served by a handler that allocates nothing, and its
// response framed and written, takes five allocations: the pending
// (carhop's own per-request state in one object), the *http.Request that
// WithContext copies, the header map and its table, and the head's
// string. The loop's side of the connection and the socket are fakes, so
// that nothing else allocates.
func TestRequestAllocations(t *testing.T) {
	const body = "Hello, World!"
	s := &Server{
		handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }),
		cfg:     defaultConfig(),
	}
	s.cfg.logger = slog.New(slog.DiscardHandler)
	cfg := s.cfg.channelConfig()
	cfg.NewRequest, cfg.Cancel, cfg.Serve = s.newRequest, cancelRequest, s.serve
	cfg.ErrorResponse, cfg.Trailers = s.errorResponse, setTrailers
	tasks := make([]interface{ Run() }, 0, 1)
	cfg.Submit = func(t interface{ Run() }) error { tasks = append(tasks, t); return nil }
	cfg.Poll = func(*channel.Channel, int) {}
	cfg = cfg.WithDefaults()
	conn := &sinkConn{}
	var local net.Addr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80}
	var ch channel.Channel
	ch.Init(&cfg, conn, &local)
	t.Cleanup(ch.Closed)

	req := []byte("GET /search?q=carhop HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\n" +
		"Accept: text/html\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")
	served := 0
	one := func() {
		require.Equal(t, len(req), ch.Received(req))
		for i := 0; i < len(tasks); i++ { // a task may queue another
			tasks[i].Run()
		}
		tasks = tasks[:0]
		ch.Pump()
		served++
	}
	one() // fills the pools and the Date cache
	allocs := testing.AllocsPerRun(1000, one)
	t.Logf("%.0f allocations per request", allocs)
	assert.LessOrEqual(t, allocs, 5.0, "allocations per request (see BenchmarkServe -benchmem for where)")
	assert.Equal(t, served, bytes.Count(conn.out.Bytes(), []byte("HTTP/1.1 200 OK\r\n")), "every request answered")
	assert.Equal(t, served, bytes.Count(conn.out.Bytes(), []byte(body)))
}
