package load

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// httpServer is a net/http test server on 127.0.0.1:0 that counts the
// requests it handles and the connections it accepts.
type httpServer struct {
	*httptest.Server
	requests, conns, closeRequested atomic.Int64
}

func newHTTPServer(t *testing.T, h http.HandlerFunc) *httpServer {
	t.Helper()
	s := &httpServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Close {
			s.closeRequested.Add(1)
		}
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *httpServer) addr() string { return s.Listener.Addr().String() }

func hello(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "Hello, World!") }

// hang blocks handlers until the test ends; it is registered after the
// server, so it is released before the server is closed.
func hang(t *testing.T) http.HandlerFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

// run calls Run and fails the test if it takes longer than waitTimeout.
func run(t *testing.T, ctx context.Context, cfg Config) (Result, error) {
	t.Helper()
	type out struct {
		r   Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		r, err := Run(ctx, cfg)
		done <- out{r, err}
	}()
	select {
	case o := <-done:
		return o.r, o.err
	case <-time.After(waitTimeout):
		require.FailNow(t, "Run did not return in time")
		return Result{}, nil
	}
}

// checkResult asserts what holds for every Result.
func checkResult(t *testing.T, r Result) {
	t.Helper()
	assert.Len(t, r.Latencies, r.Requests, "one latency per completed request")
	assert.True(t, slices.IsSorted(r.Latencies), "latencies sorted")
	assert.Equal(t, Summarize(r.Latencies, r.Elapsed, r.Requests), r.Stats)
	assert.LessOrEqual(t, r.Non2xx, r.Requests)
	assert.Positive(t, r.Elapsed)
	for _, d := range r.Latencies {
		if !assert.Positive(t, d) {
			break
		}
	}
}

func TestRunNetHTTP(t *testing.T) {
	t.Parallel()
	chunked := func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "Hello, ")
		w.(http.Flusher).Flush() // no Content-Length now: the body is chunked
		_, _ = io.WriteString(w, "World!")
	}
	status500 := func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "oops", http.StatusInternalServerError)
	}
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		keepAlive   bool
		requests    int
		concurrency int
		non2xx      int
	}{
		{"keep-alive", hello, true, 500, 8, 0},
		{"keep-alive one connection", hello, true, 50, 1, 0},
		{"no keep-alive", hello, false, 100, 4, 0},
		{"more connections than requests", hello, true, 3, 10, 0},
		{"chunked keep-alive", chunked, true, 200, 4, 0},
		{"chunked no keep-alive", chunked, false, 50, 4, 0},
		{"500 keep-alive", status500, true, 100, 4, 100},
		{"500 no keep-alive", status500, false, 20, 2, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newHTTPServer(t, tt.handler)
			r, err := run(t, t.Context(), Config{
				Addr: s.addr(), Requests: tt.requests, Concurrency: tt.concurrency, KeepAlive: tt.keepAlive,
			})
			require.NoError(t, err)
			checkResult(t, r)
			assert.Equal(t, tt.requests, r.Requests)
			assert.Zero(t, r.Errors)
			assert.Equal(t, tt.non2xx, r.Non2xx)
			assert.Equal(t, int64(tt.requests), s.requests.Load(), "requests the server handled")
			if tt.keepAlive {
				assert.LessOrEqual(t, s.conns.Load(), int64(min(tt.concurrency, tt.requests)), "connections the server accepted")
				assert.Zero(t, s.closeRequested.Load())
			} else {
				assert.Equal(t, int64(tt.requests), s.conns.Load(), "a connection per request")
				assert.Equal(t, int64(tt.requests), s.closeRequested.Load(), "every request asked to close")
			}
		})
	}
}

func TestRunPathAndHost(t *testing.T) {
	t.Parallel()
	var bad atomic.Int64
	s := newHTTPServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RequestURI() != "/x/y?z=1" || r.Host != "example.test" || r.Method != http.MethodGet {
			bad.Add(1)
		}
		hello(w, r)
	})
	r, err := run(t, t.Context(), Config{Addr: s.addr(), Path: "/x/y?z=1", Host: "example.test", Requests: 10, Concurrency: 2, KeepAlive: true})
	require.NoError(t, err)
	assert.Equal(t, 10, r.Requests)
	assert.Zero(t, bad.Load())
}

// Raw servers produce what net/http will not: truncated responses, idle
// closes, interim responses, malformed heads.
func TestRunRawServers(t *testing.T) {
	t.Parallel()
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"
	tests := []struct {
		name      string
		handle    func(net.Conn, *bufio.Reader)
		keepAlive bool
		requests  int
		errors    int
		non2xx    int
		conns     int // connections the server accepted; 0: not checked
	}{
		{
			name:   "closes mid-body, keep-alive",
			handle: serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true), keepAlive: true,
			requests: 20, errors: 20, conns: 20,
		},
		{
			name:     "closes mid-body, no keep-alive",
			handle:   serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", true),
			requests: 20, errors: 20, conns: 20,
		},
		{
			name:   "closes mid-head",
			handle: serveCanned("HTTP/1.1 200 OK\r\nContent-Le", true), keepAlive: true,
			requests: 10, errors: 10,
		},
		{
			name:   "closes mid-chunk",
			handle: serveCanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHel", true), keepAlive: true,
			requests: 10, errors: 10,
		},
		{
			name:     "closes without answering",
			handle:   func(_ net.Conn, br *bufio.Reader) { _ = readHead(br) },
			requests: 10, errors: 10, keepAlive: true, conns: 10,
		},
		{
			name:   "malformed status line",
			handle: serveCanned("HTTP/9 200 OK\r\n\r\n", false), keepAlive: true,
			requests: 10, errors: 10,
		},
		{
			// A close after a complete response just means reconnect,
			// whether announced ...
			name:   "connection close header",
			handle: serveCanned("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 13\r\n\r\nHello, World!", true), keepAlive: true,
			requests: 50, conns: 50,
		},
		{
			// ... or not: the next request finds the connection closed and
			// is retried once on a new one.
			name:   "silent close after each response",
			handle: serveCanned(ok, true), keepAlive: true,
			requests: 50, conns: 50,
		},
		{
			name:   "close-delimited body",
			handle: serveCanned("HTTP/1.1 200 OK\r\n\r\nHello, World!", true), keepAlive: true,
			requests: 20, conns: 20,
		},
		{
			name:   "http/1.0 response",
			handle: serveCanned("HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!", true), keepAlive: true,
			requests: 20, conns: 20,
		},
		{
			name:   "chunked with extensions and trailers",
			handle: serveCanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nHello\r\n8\r\n, World!\r\n0\r\nX-T: 1\r\n\r\n", false), keepAlive: true,
			requests: 50, conns: 2,
		},
		{
			name:   "early hints then 404",
			handle: serveCanned("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false), keepAlive: true,
			requests: 30, non2xx: 30, conns: 2,
		},
		{
			name: "no keep-alive, server keeps the connection",
			// The client closes after the framed response anyway.
			handle:   serveCanned(ok, false),
			requests: 20, conns: 20,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newRawServer(t, tt.handle)
			r, err := run(t, t.Context(), Config{Addr: s.addr(), Requests: tt.requests, Concurrency: 2, KeepAlive: tt.keepAlive, Timeout: waitTimeout})
			require.NoError(t, err)
			checkResult(t, r)
			assert.Equal(t, tt.errors, r.Errors, "errors")
			assert.Equal(t, tt.requests-tt.errors, r.Requests, "completed")
			assert.Equal(t, tt.non2xx, r.Non2xx, "non-2xx")
			if tt.conns > 0 {
				if tt.keepAlive && tt.conns == 2 {
					assert.LessOrEqual(t, s.accepted.Load(), int64(2), "accepted")
				} else {
					assert.Equal(t, int64(tt.conns), s.accepted.Load(), "accepted")
				}
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	t.Parallel()
	for _, keepAlive := range []bool{true, false} {
		s := newHTTPServer(t, hang(t))
		r, err := run(t, t.Context(), Config{Addr: s.addr(), Requests: 3, Concurrency: 1, KeepAlive: keepAlive, Timeout: 50 * time.Millisecond})
		require.NoError(t, err)
		checkResult(t, r)
		assert.Equal(t, 3, r.Errors, "keep-alive %v", keepAlive)
		assert.Zero(t, r.Requests)
	}
}

func TestRunDuration(t *testing.T) {
	t.Parallel()
	t.Run("responsive server", func(t *testing.T) {
		t.Parallel()
		s := newHTTPServer(t, hello)
		for _, keepAlive := range []bool{true, false} {
			// On a loaded machine (CI runs packages side by side) a 100 ms
			// run can end before any client has its first answer; a longer
			// run then must have some, up to 3.2 s.
			var r Result
			for d := 100 * time.Millisecond; d <= 3200*time.Millisecond; d *= 2 {
				var err error
				r, err = run(t, t.Context(), Config{Addr: s.addr(), Duration: d, Concurrency: 4, KeepAlive: keepAlive})
				require.NoError(t, err)
				checkResult(t, r)
				if r.Requests > 0 || r.Errors > 0 {
					break
				}
			}
			assert.Positive(t, r.Requests)
			assert.Zero(t, r.Errors)
		}
	})
	t.Run("hung server", func(t *testing.T) {
		t.Parallel()
		// Requests in flight when the time is up are interrupted, not
		// waited for (Timeout is far longer than the test), counted
		// neither as requests nor as errors, but as unanswered.
		s := newHTTPServer(t, hang(t))
		r, err := run(t, t.Context(), Config{Addr: s.addr(), Duration: 50 * time.Millisecond, Concurrency: 4, KeepAlive: true, Timeout: time.Hour})
		require.NoError(t, err)
		checkResult(t, r)
		assert.Zero(t, r.Requests)
		assert.Zero(t, r.Errors)
		// On a busy machine a worker may not have started its request
		// within the 50 ms; every one that did was cut, unanswered.
		assert.LessOrEqual(t, r.InFlight, 4)
		assert.Equal(t, r.InFlight, r.Unanswered, "nothing was answered, so every wait is longer than the worst answer")
		if r.Unanswered > 0 {
			assert.Positive(t, r.UnansweredWait)
		}
		assert.LessOrEqual(t, r.UnansweredWait, r.Elapsed)
	})
	t.Run("server that accepts and never reads", func(t *testing.T) {
		t.Parallel()
		// Dials complete (the backlog accepts them); interrupted reads.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		r, err := run(t, t.Context(), Config{Addr: ln.Addr().String(), Duration: 50 * time.Millisecond, Concurrency: 3, Timeout: time.Hour})
		require.NoError(t, err)
		assert.Zero(t, r.Requests)
		assert.Zero(t, r.Errors)
		assert.LessOrEqual(t, r.Unanswered, 3)
		assert.Equal(t, r.InFlight, r.Unanswered)
	})
}

// TestRunUnanswered runs against a sequential server: it serves the first
// connection it accepts for as long as that client keeps it, and never
// accepts the others. A closed loop then measures only the lucky client's
// fast latencies; Unanswered must report the others.
func TestRunUnanswered(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan struct{})
	go func() {
		defer close(served)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serveCanned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)(c, bufio.NewReader(c))
	}()
	t.Cleanup(func() { _ = ln.Close(); <-served })

	const conns = 5
	r, err := run(t, t.Context(), Config{Addr: ln.Addr().String(), Duration: 400 * time.Millisecond, Concurrency: conns, KeepAlive: true, Timeout: time.Hour})
	require.NoError(t, err)
	checkResult(t, r)
	assert.Positive(t, r.Requests, "the first connection is served")
	assert.Zero(t, r.Errors)
	// The served connection may be between two requests at the stop, and
	// on a busy machine its last request may be its slowest: it may count
	// either way. The starved ones always do.
	assert.GreaterOrEqual(t, r.InFlight, conns-1, "every starved connection had a request in flight at the stop")
	assert.LessOrEqual(t, r.InFlight, conns)
	assert.GreaterOrEqual(t, r.Unanswered, conns-1, "all but the served connection waited the whole run")
	assert.LessOrEqual(t, r.Unanswered, r.InFlight)
	assert.Greater(t, r.UnansweredWait, r.Stats.Worst)
	assert.Greater(t, r.UnansweredWait, 100*time.Millisecond, "they waited most of the run")
}

// TestResultCountsOnlyStarvedRequestsAsUnanswered checks the rule on
// known waits: of the requests the stop cut, only those that had waited
// longer than the slowest answered request are unanswered, so a busy but
// fair server, whose cut requests are younger than its worst answer,
// shows none.
func TestResultCountsOnlyStarvedRequestsAsUnanswered(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name           string
		lat, cut       [][]time.Duration // per worker
		inFlight, want int
		wantWait       time.Duration
	}{
		{"fair server", [][]time.Duration{{ms(1), ms(50)}, {ms(2)}}, [][]time.Duration{{ms(3)}, {ms(49)}}, 2, 0, 0},
		{"starved clients", [][]time.Duration{{ms(1), ms(2)}, nil, nil}, [][]time.Duration{{ms(1)}, {ms(900)}, {ms(1000)}}, 3, 2, ms(1000)},
		{"nothing answered", [][]time.Duration{nil, nil}, [][]time.Duration{{ms(5)}, {0}}, 2, 1, ms(5)},
		{"nothing cut", [][]time.Duration{{ms(1)}}, [][]time.Duration{nil}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &generator{}
			for i := range tc.lat {
				g.workers = append(g.workers, &worker{lat: tc.lat[i], requests: len(tc.lat[i]), cut: tc.cut[i]})
			}
			r := g.result(time.Second)
			assert.Equal(t, tc.inFlight, r.InFlight)
			assert.Equal(t, tc.want, r.Unanswered)
			assert.Equal(t, tc.wantWait, r.UnansweredWait)
		})
	}
}

func TestRunContextCancelled(t *testing.T) {
	t.Parallel()
	s := newHTTPServer(t, hang(t))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	r, err := run(t, ctx, Config{Addr: s.addr(), Requests: 10, Concurrency: 2, KeepAlive: true, Timeout: time.Hour})
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, r.Requests)
	assert.Zero(t, r.Errors, "interrupted requests are not errors")

	_, err = Run(ctx, Config{Addr: s.addr(), Requests: 1, Concurrency: 1})
	require.ErrorIs(t, err, context.Canceled, "an ended context runs nothing")
}

func TestRunContextEndsAfterCompletion(t *testing.T) {
	t.Parallel()
	s := newHTTPServer(t, hello)
	ctx, cancel := context.WithCancel(t.Context())
	r, err := run(t, ctx, Config{Addr: s.addr(), Requests: 20, Concurrency: 2, KeepAlive: true})
	cancel()
	require.NoError(t, err)
	assert.Equal(t, 20, r.Requests)
}

func TestRunNothingListening(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, cfg := range []Config{
		{Addr: addr, Requests: 5, Concurrency: 2, KeepAlive: true},
		{Addr: addr, Duration: time.Hour, Concurrency: 2},
	} {
		_, err := run(t, t.Context(), cfg)
		require.ErrorContains(t, err, "cannot connect")
	}
}

func TestRunBadConfig(t *testing.T) {
	t.Parallel()
	good := Config{Addr: "127.0.0.1:1", Requests: 1, Concurrency: 1}
	tests := []struct {
		name   string
		change func(*Config)
		msg    string
	}{
		{"no address", func(c *Config) { c.Addr = "" }, "Addr"},
		{"unresolvable address", func(c *Config) { c.Addr = "127.0.0.1" }, "address"},
		{"no concurrency", func(c *Config) { c.Concurrency = 0 }, "Concurrency"},
		{"negative requests", func(c *Config) { c.Requests = -1 }, "Requests"},
		{"neither requests nor duration", func(c *Config) { c.Requests = 0 }, "Duration"},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }, "Duration"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "Timeout"},
		{"relative path", func(c *Config) { c.Path = "x" }, "Path"},
		{"path with space", func(c *Config) { c.Path = "/a b" }, "Path"},
		{"path with CRLF", func(c *Config) { c.Path = "/\r\nX: y" }, "Path"},
		{"host with CRLF", func(c *Config) { c.Host = "a\r\nX: y" }, "Host"},
	}
	for _, tt := range tests {
		cfg := good
		tt.change(&cfg)
		_, err := Run(t.Context(), cfg)
		require.ErrorContains(t, err, tt.msg, tt.name)
	}
}

func TestBuildRequest(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n",
		string(buildRequest(Config{Path: "/", Host: "bench", KeepAlive: true})))
	assert.Equal(t, "GET /p?q HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n",
		string(buildRequest(Config{Path: "/p?q", Host: "h:1"})))
}
