package load

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlowReadHead(t *testing.T) {
	t.Parallel()
	long := "X-Long: " + strings.Repeat("a", 3*slowReadLine) + "\r\n"
	tests := []struct {
		name   string
		head   string // up to and including the empty line
		length int64
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 5},
		{"zero", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0},
		{"any case and spaces", "HTTP/1.1 404 Not Found\r\nDate: x\r\ncontent-LENGTH: \t12 \r\n\r\n", 12},
		{"none", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", -1},
		{"no headers", "HTTP/1.0 204 No Content\r\n\r\n", -1},
		{"repeated", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", 7},
		{"contradicted", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n", -1},
		{"invalid", "HTTP/1.1 200 OK\r\nContent-Length: 7x\r\n\r\n", -1},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 3\n\n", 3},
		{"empty line first", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", 3},
		{"long line", "HTTP/1.1 200 OK\r\n" + long + "Content-Length: 9\r\n\r\n", 9},
		{"length cut short", "HTTP/1.1 200 OK\r\nContent-Length:" + strings.Repeat(" ", slowReadLine) + "9\r\n\r\n", -1},
	}
	const body = "body bytes"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := []byte(tt.head + body)
			// Every piece size, so that the head is cut everywhere.
			for size := 1; size <= len(in); size++ {
				var h slowReadHead
				ended := -1
				for off := 0; off < len(in) && ended < 0; off += size {
					piece := in[off:min(off+size, len(in))]
					if k := h.feed(piece); h.done {
						ended = off + k
					} else {
						require.Equal(t, len(piece), k, "size %d: a piece before the end is consumed whole", size)
					}
				}
				require.Equal(t, len(tt.head), ended, "size %d: where the head ends", size)
				require.Equal(t, tt.length, h.length, "size %d", size)
			}
		})
	}
}

// slowReadStop stops s at cleanup, in case the test failed before it did.
func slowReadStop(t *testing.T, s *slowReadSet) {
	t.Helper()
	t.Cleanup(func() { s.stop() })
}

// each reports whether f holds for every client.
func (s *slowReadSet) each(f func(c *slowReader) bool) bool {
	for i := range s.clients {
		if !f(&s.clients[i]) {
			return false
		}
	}
	return true
}

func TestSlowReadersPaced(t *testing.T) {
	t.Parallel()
	const n, size = 3, 1 << 20
	body := []byte(strings.Repeat("x", size))
	var mu sync.Mutex
	var targets []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		targets = append(targets, r.Host+r.RequestURI)
		mu.Unlock()
		w.Header().Set("Content-Length", strconv.Itoa(size))
		_, _ = w.Write(body) // fails once stop closes the client
	}))
	t.Cleanup(s.Close)

	tests := []struct {
		name  string
		cfg   SlowReadConfig
		chunk int           // the effective Chunk
		every time.Duration // and Every
		until int64         // bytes each client receives before it is stopped
	}{
		{"defaults", SlowReadConfig{}, slowReadChunk, slowReadEvery, 1},
		{"small chunks", SlowReadConfig{Path: "/big?x=1", Chunk: 1000, Every: 20 * time.Millisecond}, 1000, 20 * time.Millisecond, 15 * 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			sr, err := startSlowReaders(t.Context(), s.Listener.Addr().String(), n, tt.cfg)
			require.NoError(t, err)
			slowReadStop(t, sr)
			eventually(t, func() bool {
				return sr.each(func(c *slowReader) bool { return c.bytes.Load() >= tt.until })
			}, "every client receives something")
			r := sr.stop()
			elapsed := time.Since(start)

			assert.Equal(t, n, r.Opened)
			assert.Equal(t, n, r.Answered, "a first read takes in the whole head")
			assert.Zero(t, r.Finished)
			assert.Zero(t, r.ClosedByServer)
			assert.Equal(t, n, r.StillOpen)
			assert.Positive(t, r.Bytes)
			assert.Less(t, r.Bytes, int64(n*size/4))
			// A read follows a pause of Every and takes at most Chunk.
			most := (int64(elapsed/tt.every) + 1) * int64(tt.chunk)
			for i := range sr.clients {
				assert.LessOrEqual(t, sr.clients[i].bytes.Load(), most, "client %d in %v", i, elapsed)
			}
			assert.Equal(t, r, sr.stop(), "stop again gives the same counts")
		})
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"bench/", "bench/", "bench/", "bench/big?x=1", "bench/big?x=1", "bench/big?x=1"}, targets)
}

func TestSlowReadersFinish(t *testing.T) {
	t.Parallel()
	fast := SlowReadConfig{Chunk: 64 << 10, Every: time.Millisecond}
	withLength := func(size int) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n" + strings.Repeat("y", size)
	}
	tests := []struct {
		name       string
		n          int
		cfg        SlowReadConfig
		resp       string
		closeAfter bool
	}{
		{"content length", 3, fast, withLength(100 << 10), false},
		{"tiny chunks", 3, SlowReadConfig{Chunk: 7, Every: time.Millisecond}, withLength(1000), false},
		{"empty body", 3, fast, withLength(0), false},
		{"until the close", 3, fast, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + strings.Repeat("z", 50<<10), true},
		{"many", 2*slowDialers + 1, fast, withLength(1000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawServer(t, serveCanned(tt.resp, tt.closeAfter))
			s, err := startSlowReaders(t.Context(), srv.addr(), tt.n, tt.cfg)
			require.NoError(t, err)
			slowReadStop(t, s)
			eventually(t, func() bool { return s.count().Finished == tt.n }, "every client reads its response")
			r := s.stop()
			assert.Equal(t, SlowReadResult{
				Opened: tt.n, Answered: tt.n, Bytes: int64(tt.n * len(tt.resp)), Finished: tt.n,
			}, r)
			assert.Equal(t, r, s.stop(), "stop again gives the same counts")
			eventually(t, func() bool { return srv.open() == 0 }, "the connections are closed")
		})
	}
}

func TestSlowReadersClosedByServer(t *testing.T) {
	t.Parallel()
	const n = 3
	head := "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
	half := head + strings.Repeat("h", 50000)
	tests := []struct {
		name  string
		reset bool   // close with a reset rather than an end of stream
		sent  string // what the server sends before it closes
	}{
		{"midway", false, half},
		{"reset midway", true, half},
		{"before answering", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if readHead(br) != nil {
					return
				}
				_, _ = io.WriteString(c, tt.sent)
				if tt.reset {
					_ = c.(*net.TCPConn).SetLinger(0)
				}
			})
			s, err := startSlowReaders(t.Context(), srv.addr(), n, SlowReadConfig{Chunk: 64 << 10, Every: time.Millisecond})
			require.NoError(t, err)
			slowReadStop(t, s)
			eventually(t, func() bool { return s.count().ClosedByServer == n }, "every client sees the close")
			r := s.stop()
			if tt.reset {
				// A reset may discard what the client had not read yet.
				assert.LessOrEqual(t, r.Bytes, int64(n*len(tt.sent)))
				r.Answered, r.Bytes = 0, 0
				tt.sent = ""
			}
			answered := 0
			if tt.sent != "" {
				answered = n
			}
			assert.Equal(t, SlowReadResult{
				Opened: n, Answered: answered, Bytes: int64(n * len(tt.sent)), ClosedByServer: n,
			}, r)
		})
	}
}

// silentServer reads requests and never answers. It keeps every request
// it read.
type silentServer struct {
	*rawServer
	mu       sync.Mutex
	requests []string
}

func newSilentServer(t *testing.T) *silentServer {
	ss := &silentServer{}
	ss.rawServer = newRawServer(t, func(_ net.Conn, br *bufio.Reader) {
		var req strings.Builder
		for {
			line, err := br.ReadString('\n')
			req.WriteString(line)
			if err != nil {
				return
			}
			if line == "\r\n" {
				break
			}
		}
		ss.mu.Lock()
		ss.requests = append(ss.requests, req.String())
		ss.mu.Unlock()
		_, _ = io.Copy(io.Discard, br)
	})
	return ss
}

// got reports how many requests the server has read.
func (ss *silentServer) got() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.requests)
}

func TestSlowReadersNoAnswer(t *testing.T) {
	t.Parallel()
	const n = 3
	srv := newSilentServer(t)
	stop, err := SlowReaders(t.Context(), srv.addr(), n, SlowReadConfig{Every: time.Millisecond})
	require.NoError(t, err)
	eventually(t, func() bool { return srv.got() == n }, "every client sends its request")
	r := stop()
	assert.Equal(t, SlowReadResult{Opened: n, StillOpen: n}, r)
	assert.Equal(t, r, stop(), "stop again gives the same counts")
	srv.mu.Lock()
	assert.Equal(t, []string{"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"}, compactStrings(srv.requests))
	srv.mu.Unlock()
	eventually(t, func() bool { return srv.open() == 0 }, "stop closes the connections")
}

// compactStrings is ss without repeats, for a short comparison.
func compactStrings(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func TestSlowReadersContextEnds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		every time.Duration
	}{
		{"in a pause", time.Hour},
		{"in a read", time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 2
			srv := newSilentServer(t)
			ctx, cancel := context.WithCancel(t.Context())
			s, err := startSlowReaders(ctx, srv.addr(), n, SlowReadConfig{Every: tt.every})
			require.NoError(t, err)
			slowReadStop(t, s)
			eventually(t, func() bool { return srv.got() == n }, "every client sends its request")
			cancel()
			var ended atomic.Bool
			go func() {
				s.wg.Wait()
				ended.Store(true)
			}()
			eventually(t, ended.Load, "the clients end with the context, before stop")
			assert.Equal(t, n, srv.open(), "connections stay open until stop")
			assert.Equal(t, SlowReadResult{Opened: n, StillOpen: n}, s.stop())
		})
	}
}

func TestSlowReadersErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	live := newSilentServer(t)
	done, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		addr string
		n    int
		cfg  SlowReadConfig
		msg  string
	}{
		{"no address", t.Context(), "", 1, SlowReadConfig{}, "address"},
		{"no clients", t.Context(), "127.0.0.1:1", 0, SlowReadConfig{}, "n is 0"},
		{"negative chunk", t.Context(), "127.0.0.1:1", 1, SlowReadConfig{Chunk: -1}, "Chunk"},
		{"negative pause", t.Context(), "127.0.0.1:1", 1, SlowReadConfig{Every: -time.Second}, "Every"},
		{"negative buffer", t.Context(), "127.0.0.1:1", 1, SlowReadConfig{RcvBuf: -1}, "RcvBuf"},
		{"nothing listening", t.Context(), closedAddr, 3, SlowReadConfig{}, "no connection"},
		{"context done", done, live.addr(), 3, SlowReadConfig{}, "no connection"},
	}
	for _, tt := range tests {
		stop, err := SlowReaders(tt.ctx, tt.addr, tt.n, tt.cfg)
		require.ErrorContains(t, err, tt.msg, tt.name)
		assert.Nil(t, stop, tt.name)
	}
}
