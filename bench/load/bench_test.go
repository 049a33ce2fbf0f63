package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const helloResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"

// newTestWorker is a worker of a generator aimed at addr, outside Run.
func newTestWorker(addr string, keepAlive bool) *worker {
	cfg := Config{Path: DefaultPath, Host: DefaultHost, KeepAlive: keepAlive}
	g := &generator{
		ctx: context.Background(), cancel: func() {}, addr: addr,
		req: buildRequest(cfg), keepAlive: keepAlive, timeout: DefaultTimeout,
	}
	w := &worker{g: g, lat: make([]time.Duration, 0, 1<<16)}
	g.workers = []*worker{w}
	return w
}

// oneRecycling is worker.one with the latency slice emptied when full, so
// that a long benchmark does not grow it.
func (w *worker) oneRecycling() {
	if len(w.lat) == cap(w.lat) {
		w.lat = w.lat[:0]
	}
	w.one()
}

// A request on a kept-alive connection allocates nothing (the server here
// does not allocate either; the count is process-wide).
func TestKeepAliveRequestDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	s := newRawServer(t, serveCanned(helloResponse, false))
	w := newTestWorker(s.addr(), true)
	defer w.closeConn()
	allocs := testing.AllocsPerRun(2000, w.oneRecycling)
	assert.Zero(t, allocs)
	assert.Zero(t, w.errors)
	assert.Equal(t, 2001, w.requests)
}

// BenchmarkRequest is one request, response and latency record on one
// connection against a minimal in-process server; allocs/op is the
// number to watch.
func BenchmarkRequest(b *testing.B) {
	for _, keepAlive := range []bool{true, false} {
		name := "keep-alive"
		if !keepAlive {
			name = "close"
		}
		b.Run(name, func(b *testing.B) {
			s := newRawServer(b, serveCanned(helloResponse, !keepAlive))
			w := newTestWorker(s.addr(), keepAlive)
			defer w.closeConn()
			b.ReportAllocs()
			for b.Loop() {
				w.oneRecycling()
			}
			require.Zero(b, w.errors)
		})
	}
}

// BenchmarkRun is whole runs of b.N requests over 1 and 50 connections.
func BenchmarkRun(b *testing.B) {
	for _, c := range []int{1, 50} {
		b.Run(fmt.Sprintf("conns=%d", c), func(b *testing.B) {
			s := newRawServer(b, serveCanned(helloResponse, false))
			b.ReportAllocs()
			b.ResetTimer()
			r, err := Run(context.Background(), Config{Addr: s.addr(), Requests: b.N, Concurrency: c, KeepAlive: true})
			require.NoError(b, err)
			require.Equal(b, b.N, r.Requests)
			b.ReportMetric(r.Stats.RPS, "req/s")
		})
	}
}
