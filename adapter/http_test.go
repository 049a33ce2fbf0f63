package adapter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGetWithHTTPClient(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(hello))
	resp, err := client(t).Get("http://" + addr + "/world")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "Hello, world!", string(body))
	assert.Equal(t, int64(13), resp.ContentLength)
	assert.Equal(t, "carhop", resp.Header.Get("Server"))
	_, err = http.ParseTime(resp.Header.Get("Date"))
	assert.NoError(t, err)
}

func TestRequestFields(t *testing.T) {
	got := make(chan *http.Request, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
	}))
	c := dial(t, addr)
	c.send("GET /p/a%20th?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-Multi: a\r\nx-multi: b\r\nUser-Agent: raw\r\n\r\n")
	resp, _ := c.response("GET")
	assert.Equal(t, 200, resp.StatusCode)
	r := <-got
	assert.Equal(t, "GET", r.Method)
	assert.Equal(t, "/p/a%20th?q=1", r.RequestURI)
	assert.Equal(t, "/p/a th", r.URL.Path)
	assert.Equal(t, "q=1", r.URL.RawQuery)
	assert.Equal(t, "example.com:8080", r.Host)
	assert.Equal(t, []string{"a", "b"}, r.Header["X-Multi"])
	assert.Empty(t, r.Header.Get("Host"))
	assert.Equal(t, "HTTP/1.1", r.Proto)
	assert.Equal(t, 1, r.ProtoMajor)
	assert.Equal(t, 1, r.ProtoMinor)
	assert.Nil(t, r.TLS)
	assert.Equal(t, c.c.LocalAddr().String(), r.RemoteAddr)
	assert.Equal(t, c.c.RemoteAddr().String(), fmt.Sprint(r.Context().Value(http.LocalAddrContextKey)))
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	var inFlight, maxInFlight atomic.Int32
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		if r.Method == http.MethodPost {
			_, _ = io.Copy(w, r.Body)
			return
		}
		_, _ = io.WriteString(w, r.URL.Path)
	}))
	c := dial(t, addr)
	var batch strings.Builder
	for i := range 20 {
		fmt.Fprintf(&batch, "GET /%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
	}
	batch.WriteString("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
	batch.WriteString("GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	c.send(batch.String())
	for i := range 20 {
		_, body := c.response("GET")
		require.Equal(t, fmt.Sprintf("/%d", i), body)
	}
	_, body := c.response("POST")
	assert.Equal(t, "hello", body)
	resp, body := c.response("GET")
	assert.Equal(t, "/last", body)
	assert.True(t, resp.Close)
	assert.True(t, c.closed())
	assert.Equal(t, int32(1), maxInFlight.Load(), "one task per connection at a time")
}

func TestByteAtATime(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = fmt.Fprintf(w, "%s %s", r.URL.Path, b)
	}))
	c := dial(t, addr)
	req := "POST /slow HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	for i := range len(req) {
		c.send(req[i : i+1])
	}
	_, body := c.response("POST")
	assert.Equal(t, "/slow abc", body)
}

func TestLargeBodiesSpillAndAreRemoved(t *testing.T) {
	dir := t.TempDir()
	_, addr := start(t, http.HandlerFunc(hashBody), WithInbufOverflow(64<<10), WithTempDir(dir))
	payload := make([]byte, 8<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	want := fmt.Sprintf("%d %x", len(payload), sha256.Sum256(payload))
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(payload)
		if chunked {
			body = io.MultiReader(body) // hides the length: the client sends chunks
		}
		resp, err := client(t).Post("http://"+addr+"/", "application/octet-stream", body)
		require.NoError(t, err)
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, want, string(got), "chunked=%v", chunked)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "temporary files left behind")
}

func TestExpectContinue(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	}), WithMaxRequestBodySize(1000))
	c := dial(t, addr)
	c.send("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
	line, err := c.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
	line, err = c.r.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "\r\n", line)
	c.send("data")
	_, body := c.response("PUT")
	assert.Equal(t, "data", body)

	t.Run("too large is refused without reading the body", func(t *testing.T) {
		c := dial(t, addr)
		c.send("PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1001\r\n\r\n")
		resp, _ := c.response("PUT")
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
		assert.True(t, c.closed())
	})
}

func TestHead(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(hello))
	c := dial(t, addr)
	c.send("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := c.response("HEAD")
	assert.Empty(t, body)
	assert.Equal(t, int64(9), resp.ContentLength)
	_, body = c.response("GET")
	assert.Equal(t, "Hello, y!", body)
}

func TestStreamingFlush(t *testing.T) {
	step := make(chan struct{})
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "data: %d\n\n", i)
			w.(http.Flusher).Flush()
			select {
			case <-step:
			case <-r.Context().Done():
				return
			}
		}
	}))
	resp, err := client(t).Get("http://" + addr + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	rd := bufioReader(resp.Body)
	for i := range 3 {
		line, err := rd.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("data: %d\n", i), line, "event arrives before the handler goes on")
		_, _ = rd.ReadString('\n')
		step <- struct{}{}
	}
}

func TestContextCancelledWhenClientLeaves(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan error, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			cancelled <- r.Context().Err()
		case <-time.After(15 * time.Second):
			cancelled <- nil
		}
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	require.NoError(t, c.c.Close())
	assert.ErrorIs(t, <-cancelled, context.Canceled)
}

func TestPanicGets500AndServerGoesOn(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		hello(w, r)
	}))
	c := dial(t, addr)
	c.send("GET /panic HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ := c.response("GET")
	assert.Equal(t, 500, resp.StatusCode)
	assert.True(t, c.closed())
	resp2, err := client(t).Get("http://" + addr + "/after")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp2.Body)
	_ = resp2.Body.Close()
	assert.Equal(t, "Hello, after!", string(b))
}

func TestBadRequestClosesAndRunsNothingAfter(t *testing.T) {
	var served atomic.Int32
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
	}))
	tests := []struct {
		in     string
		status int
	}{
		{"GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
		{"GET /" + strings.Repeat("a", 20000) + " HTTP/1.1\r\nHost: h\r\n\r\n", 414},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 300<<10) + "\r\n\r\n", 431},
		{"GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	}
	for _, tt := range tests {
		c := dial(t, addr)
		c.send(tt.in)
		resp, _ := c.response("GET")
		assert.Equal(t, tt.status, resp.StatusCode, "%.40q", tt.in)
		assert.True(t, resp.Close)
		assert.True(t, c.closed())
	}
	assert.Zero(t, served.Load())

	t.Run("after good requests, in order", func(t *testing.T) {
		c := dial(t, addr)
		c.send("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, _ := c.response("GET")
		assert.Equal(t, 200, resp.StatusCode)
		resp, _ = c.response("GET")
		assert.Equal(t, 400, resp.StatusCode)
		assert.True(t, c.closed())
		assert.Equal(t, int32(1), served.Load())
	})
}

func TestTrailers(t *testing.T) {
	gotTrailer := make(chan http.Header, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		gotTrailer <- r.Trailer
		w.Header().Set("Trailer", "X-Declared")
		_, _ = io.WriteString(w, "body")
		w.Header().Set("X-Declared", "d")
		w.Header().Set(http.TrailerPrefix+"X-Late", "l")
	}))
	c := dial(t, addr)
	c.send("POST / HTTP/1.1\r\nHost: h\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-Sum: 42\r\n\r\n")
	resp, body := c.response("POST")
	assert.Equal(t, "body", body)
	assert.Equal(t, "d", resp.Trailer.Get("X-Declared"))
	assert.Equal(t, "l", resp.Trailer.Get("X-Late"))
	assert.Equal(t, "42", (<-gotTrailer).Get("X-Sum"))
}

func TestHTTP10(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			_, _ = io.WriteString(w, "part1 ")
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, "done")
	}))
	c := dial(t, addr)
	c.send("GET /fixed HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body := c.response("GET")
	assert.Equal(t, "done", body)
	assert.False(t, resp.Close)
	assert.Equal(t, "HTTP/1.0", resp.Proto)
	c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	resp, body = c.response("GET")
	assert.Equal(t, "part1 done", body, "close-delimited")
	assert.True(t, resp.Close)
	assert.True(t, c.closed())
}

func TestShutdownFinishesInFlight(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			return
		}
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	}))
	idle := dial(t, addr)
	idle.send("GET /quick HTTP/1.1\r\nHost: h\r\n\r\n")
	idle.response("GET") // now surely open, and idle
	busy := dial(t, addr)
	busy.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	assert.True(t, idle.closed(), "idle connection closed by the drain")
	close(release)
	resp, body := busy.response("GET")
	assert.Equal(t, "finished", body)
	assert.True(t, resp.Close, "responses during a drain close their connection")
	require.NoError(t, <-done)
}

func TestIdleTimeout(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(hello), WithChannelTimeout(300*time.Millisecond),
		WithCleanupInterval(50*time.Millisecond))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	c.response("GET")
	assert.True(t, c.closed())
}

func TestSlowHeadGets408(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(hello), WithRequestTimeout(300*time.Millisecond),
		WithCleanupInterval(50*time.Millisecond))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost:")
	resp, _ := c.response("GET")
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	assert.True(t, c.closed())
}

func TestConnectionLimit(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(hello), WithConnectionLimit(2))
	a, b := dial(t, addr), dial(t, addr)
	a.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	a.response("GET")
	b.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	b.response("GET")
	c := dial(t, addr)
	resp, _ := c.response("GET")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.True(t, c.closed())
}

// "OPTIONS *" asks about the server, not a resource: answered by the
// server as net/http does (TestMatchesNetHTTP), or passed to the handler
// when the application wants it.
func TestGeneralOptionsHandler(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []Option
		status int
		body   string
	}{
		{name: "default", status: http.StatusOK},
		{name: "off", opts: []Option{WithGeneralOptionsHandler(false)}, status: http.StatusAccepted, body: "handler saw *"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusAccepted)
				_, _ = io.WriteString(w, "handler saw "+r.RequestURI)
			}), tc.opts...)
			c := dial(t, addr)
			c.send("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, body := c.response(http.MethodOptions)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Equal(t, tc.body, body)
		})
	}
}
