//go:build !race

// The race detector changes what allocates (sync.Pool drops items at
// random under it), so allocation guards build without it; .ci/test runs
// them apart.

package adapter

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestAllocations guards the cost of a request between the event
// loop and the handler: a GET parsed, turned into an *http.Request,
// served by a handler that allocates nothing, and its response framed and
// written. A browser-like GET takes four allocations: the pending
// (carhop's own per-request state and the *http.Request in one object),
// the header map and its table, and the head's string; one with Host
// alone needs no table. The bytes matter as much as the count: the
// garbage each connection's first request leaves sets the resident set
// of a server holding many idle connections (docs/performance.md,
// "Memory per idle connection"), and the pending is most of it. The
// loop's side of the connection and the socket are fakes, so that
// nothing else allocates.
func TestRequestAllocations(t *testing.T) {
	const body = "Hello, World!"
	tests := []struct {
		name   string
		req    string
		allocs float64
		bytes  uint64 // per request, at most
	}{
		// pending with room for two values (640), header map, head string.
		{"Host only", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 3, 768},
		// pending with room for six values (704), map and table, head.
		{"browser-like", "GET /search?q=carhop HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\n" +
			"Accept: text/html\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n", 4, 1344},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnit(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
			req := []byte(tc.req)
			served, answered := 0, 0
			one := func() {
				require.Equal(t, len(req), u.feed(req))
				served++
				out := u.conn.out.Bytes()
				if bytes.HasPrefix(out, []byte("HTTP/1.1 200 OK\r\n")) && bytes.HasSuffix(out, []byte(body)) {
					answered++
				}
				u.conn.out.Reset() // its growth is the test's, not the server's
			}
			// A collection now, not during the runs: one would empty the
			// pools, and refilling them is not a request's cost.
			runtime.GC()
			one() // fills the pools and the Date cache
			const runs = 1000
			allocs := testing.AllocsPerRun(runs, one)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range runs {
				one()
			}
			runtime.ReadMemStats(&after)
			perRequest := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%.0f allocations, %d bytes per request", allocs, perRequest)
			assert.LessOrEqual(t, allocs, tc.allocs, "allocations per request (see BenchmarkRequestPath -benchmem for where)")
			assert.LessOrEqual(t, perRequest, tc.bytes, "bytes allocated per request")
			assert.Equal(t, served, answered, "every request answered, each at once")
		})
	}
}
