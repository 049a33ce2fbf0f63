package load

import (
	"bufio"
	"context"
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

func TestSlowClientsHeaderTimeout(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 3 * slowDialers} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			var closed, handled atomic.Int64
			s := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { handled.Add(1) }))
			s.Config.ReadHeaderTimeout = 100 * time.Millisecond
			s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateClosed {
					closed.Add(1)
				}
			}
			s.Start()
			t.Cleanup(s.Close)

			stop, err := SlowClients(t.Context(), s.Listener.Addr().String(), n, 10*time.Millisecond)
			require.NoError(t, err)
			eventually(t, func() bool { return closed.Load() == int64(n) }, "the server closes every slow connection")
			r := stop()
			assert.Equal(t, SlowResult{Opened: n, ClosedByServer: n, StillOpen: 0}, r)
			assert.Equal(t, r, stop(), "stop again gives the same counts")
			assert.Zero(t, handled.Load(), "no request head was ever complete")
		})
	}
}

// trickleServer records, per connection, the bytes it receives.
type trickleServer struct {
	*rawServer
	mu       sync.Mutex
	received []*strings.Builder
}

func newTrickleServer(t *testing.T) *trickleServer {
	ts := &trickleServer{}
	ts.rawServer = newRawServer(t, func(_ net.Conn, br *bufio.Reader) {
		var sb strings.Builder
		ts.mu.Lock()
		ts.received = append(ts.received, &sb)
		ts.mu.Unlock()
		for {
			b, err := br.ReadByte()
			if err != nil {
				return
			}
			ts.mu.Lock()
			sb.WriteByte(b)
			ts.mu.Unlock()
		}
	})
	return ts
}

// each reports whether there are n connections and f holds for each one's
// bytes so far.
func (ts *trickleServer) each(n int, f func(string) bool) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.received) != n {
		return false
	}
	for _, sb := range ts.received {
		if !f(sb.String()) {
			return false
		}
	}
	return true
}

func TestSlowClientsTrickle(t *testing.T) {
	t.Parallel()
	const n = 3
	ts := newTrickleServer(t)
	stop, err := SlowClients(t.Context(), ts.addr(), n, 2*time.Millisecond)
	require.NoError(t, err)
	want := slowHead + "aaaa"
	eventually(t, func() bool {
		return ts.each(n, func(got string) bool { return len(got) >= len(want) })
	}, "every connection sends its head and then filler")
	r := stop()
	assert.Equal(t, SlowResult{Opened: n, ClosedByServer: 0, StillOpen: n}, r)
	assert.True(t, ts.each(n, func(got string) bool {
		return strings.HasPrefix(got, slowHead) && strings.Trim(got[len(slowHead):], "a") == ""
	}), "bytes are the head, then only 'a'")
	// After stop the clients are closed: the server sees end of stream.
	eventually(t, func() bool { return ts.open() == 0 }, "stop closes the connections")
}

func TestSlowClientsServerAnswersAndCloses(t *testing.T) {
	t.Parallel()
	// The server reads a few bytes, answers 408 and closes: the answer is
	// swallowed and the close counted, by the client or by stop's check.
	const n = 4
	s := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		var b [5]byte
		if _, err := br.Read(b[:1]); err == nil {
			_, _ = c.Write([]byte("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
		}
	})
	stop, err := SlowClients(t.Context(), s.addr(), n, time.Millisecond)
	require.NoError(t, err)
	eventually(t, func() bool { return s.accepted.Load() == n && s.open() == 0 }, "the server closes every connection")
	assert.Equal(t, SlowResult{Opened: n, ClosedByServer: n, StillOpen: 0}, stop())
}

func TestSlowClientsContextEnds(t *testing.T) {
	t.Parallel()
	const n = 2
	ts := newTrickleServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	stop, err := SlowClients(ctx, ts.addr(), n, time.Millisecond)
	require.NoError(t, err)
	eventually(t, func() bool {
		return ts.each(n, func(got string) bool { return len(got) > 0 })
	}, "the clients start sending")
	cancel()
	assert.Equal(t, SlowResult{Opened: n, StillOpen: n}, stop(), "connections stay open until stop")
}

func TestSlowClientsErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	tests := []struct {
		name     string
		addr     string
		n        int
		interval time.Duration
		msg      string
	}{
		{"no address", "", 1, time.Second, "address"},
		{"no clients", "127.0.0.1:1", 0, time.Second, "n is 0"},
		{"no interval", "127.0.0.1:1", 1, 0, "interval"},
		{"nothing listening", closedAddr, 3, time.Second, "no connection"},
	}
	for _, tt := range tests {
		stop, err := SlowClients(t.Context(), tt.addr, tt.n, tt.interval)
		require.ErrorContains(t, err, tt.msg, tt.name)
		assert.Nil(t, stop, tt.name)
	}
}
