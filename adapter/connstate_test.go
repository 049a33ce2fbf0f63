package adapter

import (
	"bufio"
	"context"
	"fmt"
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

// stateLog records what a ConnState function is told, per connection.
type stateLog struct {
	mu       sync.Mutex
	byConn   map[net.Conn][]http.ConnState
	order    []net.Conn // in the order first seen
	closeNew bool       // close every connection when it is new
}

func (r *stateLog) hook(c net.Conn, s http.ConnState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byConn[c]; !ok {
		r.order = append(r.order, c)
	}
	r.byConn[c] = append(r.byConn[c], s)
	if s == http.StateNew && r.closeNew {
		_ = c.Close()
	}
}

// ended waits, for at most 10 seconds, until the first connection's
// states end (closed or hijacked), and returns them.
func (r *stateLog) ended(t *testing.T) []http.ConnState {
	t.Helper()
	var got []http.ConnState
	assert.Eventually(t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.order) == 0 {
			return false
		}
		got = append([]http.ConnState(nil), r.byConn[r.order[0]]...)
		last := got[len(got)-1]
		return last == http.StateClosed || last == http.StateHijacked
	}, 10*time.Second, time.Millisecond)
	return got
}

// connStateHandler answers "ok", or takes the connection over at /hijack
// and answers on it itself.
func connStateHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/hijack" {
		_, _ = io.WriteString(w, "ok")
		return
	}
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
	_ = c.Close()
}

// serveNetHTTP runs net/http itself with the same handler and ConnState
// function, for a test to compare with.
func serveNetHTTP(t *testing.T, h http.Handler, connState func(net.Conn, http.ConnState)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h, ConnState: connState, ErrorLog: nil, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// TestConnStateMatchesNetHTTP runs the same client script against carhop
// and net/http, both with a ConnState function, and expects the same
// states in the same order.
func TestConnStateMatchesNetHTTP(t *testing.T) {
	ok := func(r *raw) {
		resp, body := r.response(http.MethodGet)
		require.Equal(r.t, http.StatusOK, resp.StatusCode)
		require.Equal(r.t, "ok", body)
	}
	for _, tt := range []struct {
		name     string
		closeNew bool
		script   func(r *raw)
		want     []http.ConnState
	}{
		{"no request", false, func(*raw) {}, []http.ConnState{http.StateNew, http.StateClosed}},
		{"two requests in turn", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			ok(r)
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			ok(r)
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateActive, http.StateIdle, http.StateClosed}},
		{"two requests pipelined", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
			ok(r)
			ok(r)
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateActive, http.StateIdle, http.StateClosed}},
		{"Connection: close", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			ok(r)
			require.True(r.t, r.closed())
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateClosed}},
		{"Connection: close with a request pipelined behind", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
			ok(r)
			require.True(r.t, r.closed())
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateClosed}},
		{"bad request", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n")
			resp, _ := r.response(http.MethodGet)
			require.Equal(r.t, http.StatusBadRequest, resp.StatusCode)
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateClosed}},
		{"bad request pipelined behind a good one", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n")
			ok(r)
			resp, _ := r.response(http.MethodGet)
			require.Equal(r.t, http.StatusBadRequest, resp.StatusCode)
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateActive, http.StateClosed}},
		{"hijacked", false, func(r *raw) {
			r.send("GET /hijack HTTP/1.1\r\nHost: h\r\n\r\n")
			_, body := r.response(http.MethodGet)
			require.Equal(r.t, "hijacked", body)
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateHijacked}},
		{"half-closed after a request", false, func(r *raw) {
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			require.NoError(r.t, r.c.(*net.TCPConn).CloseWrite())
			ok(r)
			require.True(r.t, r.closed())
		}, []http.ConnState{http.StateNew, http.StateActive, http.StateIdle, http.StateClosed}},
		{"closed by the function when new", true, func(r *raw) {
			require.True(r.t, r.closed())
		}, []http.ConnState{http.StateNew, http.StateClosed}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			servers := map[string]func(*stateLog) string{
				"carhop": func(rec *stateLog) string {
					_, addr := start(t, http.HandlerFunc(connStateHandler), WithConnState(rec.hook))
					return addr
				},
				"net/http": func(rec *stateLog) string {
					return serveNetHTTP(t, http.HandlerFunc(connStateHandler), rec.hook)
				},
			}
			for _, name := range []string{"net/http", "carhop"} {
				rec := &stateLog{byConn: map[net.Conn][]http.ConnState{}, closeNew: tt.closeNew}
				r := dial(t, servers[name](rec))
				tt.script(r)
				_ = r.c.Close()
				assert.Equal(t, tt.want, rec.ended(t), "%s: states", name)
				rec.mu.Lock()
				assert.Len(t, rec.order, 1, "%s: one connection, the same net.Conn in every report", name)
				rec.mu.Unlock()
			}
		})
	}
}

// The net.Conn a ConnState function is given names the connection's
// addresses from any goroutine, even once the connection is gone, and
// refuses I/O, which belongs to the event loop.
func TestConnStateConn(t *testing.T) {
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	_, addr := start(t, http.HandlerFunc(connStateHandler), WithConnState(func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		if s == http.StateNew {
			conns = append(conns, c)
		}
	}))
	r := dial(t, addr)
	r.send("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	_, body := r.response(http.MethodGet)
	require.Equal(t, "ok", body)
	require.True(t, r.closed())

	mu.Lock()
	require.Len(t, conns, 1)
	c := conns[0]
	mu.Unlock()
	assert.Equal(t, r.c.LocalAddr().String(), c.RemoteAddr().String())
	assert.Equal(t, addr, c.LocalAddr().String())
	_, err := c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, ErrConnNotYours)
	_, err = c.Write([]byte("x"))
	assert.ErrorIs(t, err, ErrConnNotYours)
	assert.ErrorIs(t, c.SetDeadline(time.Now()), ErrConnNotYours)

	// The kernel gives the next connection the file descriptor the first
	// had: closing the first one's view must leave the newcomer alone.
	next := dial(t, addr)
	next.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	_, body = next.response(http.MethodGet)
	require.Equal(t, "ok", body)
	_ = c.Close() // asynchronous: what it does shows on the next requests
	for range 3 {
		next.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
		_, body = next.response(http.MethodGet)
		assert.Equal(t, "ok", body, "closing a connection that is gone closed another")
	}
}

// ExampleWithConnState counts the connections open and active, as a
// metrics exporter would.
func ExampleWithConnState() {
	var (
		mu     sync.Mutex
		counts = map[http.ConnState]int{}
	)
	s, err := New(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hi")
	}), WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler)),
		WithConnState(func(_ net.Conn, s http.ConnState) {
			mu.Lock()
			defer mu.Unlock()
			counts[s]++
		}))
	if err != nil {
		panic(err)
	}
	go func() { _ = s.Serve() }()
	<-s.Ready()
	defer func() { _ = s.Close() }()

	c, err := net.Dial("tcp", s.Addrs()[0].String())
	if err != nil {
		panic(err)
	}
	_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		panic(err)
	}
	_ = resp.Body.Close()
	_ = c.Close()
	for range 1000 { // until the server has seen the close
		mu.Lock()
		closed := counts[http.StateClosed]
		mu.Unlock()
		if closed > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Println(counts[http.StateNew], "new,", counts[http.StateActive], "active,", counts[http.StateIdle], "idle,", counts[http.StateClosed], "closed")
	// Output: 1 new, 1 active, 0 idle, 1 closed
}

type connKey struct{}

// Each connection's requests see the context WithConnContext made for
// it, derived from the base context; another connection has its own.
func TestConnContext(t *testing.T) {
	type baseKey struct{}
	var (
		mu    sync.Mutex
		made  int
		conns = map[net.Conn]int{}
	)
	base, cancelBase := context.WithCancel(context.WithValue(context.Background(), baseKey{}, "base"))
	defer cancelBase()
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "%v %v", r.Context().Value(connKey{}), r.Context().Value(baseKey{}))
	}), WithBaseContext(base), WithConnContext(func(ctx context.Context, c net.Conn) context.Context {
		mu.Lock()
		defer mu.Unlock()
		made++
		conns[c] = made
		return context.WithValue(ctx, connKey{}, fmt.Sprintf("conn%d from %s", made, c.RemoteAddr()))
	}))
	for i, r := range []*raw{dial(t, addr), dial(t, addr)} {
		want := fmt.Sprintf("conn%d from %s base", i+1, r.c.LocalAddr())
		for range 2 { // both requests on a connection see its context
			r.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			_, body := r.response(http.MethodGet)
			assert.Equal(t, want, body)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 2, made, "once per connection")
	assert.Len(t, conns, 2)
}

// ExampleWithConnContext gives every request the connection's sequence
// number, as a logger might tag each line with it.
func ExampleWithConnContext() {
	var conns atomic.Int64
	s, err := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintf(w, "connection %d", r.Context().Value(connKey{}))
	}), WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler)),
		WithConnContext(func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, conns.Add(1))
		}))
	if err != nil {
		panic(err)
	}
	go func() { _ = s.Serve() }()
	<-s.Ready()
	defer func() { _ = s.Close() }()

	for range 2 {
		tr := &http.Transport{} // a new connection each time
		resp, err := (&http.Client{Transport: tr}).Get("http://" + s.Addrs()[0].String() + "/")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		tr.CloseIdleConnections()
		fmt.Println(string(body))
	}
	// Output:
	// connection 1
	// connection 2
}
