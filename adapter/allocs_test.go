//go:build !race

// The race detector changes what allocates (sync.Pool drops items at
// random under it), so allocation guards build without it; .ci/test runs
// them apart.

package adapter

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRequestAllocations guards the cost of a request between the event
// loop and the handler: a browser-like GET, parsed, turned into an
// *http.Request, served by a handler that allocates nothing, and its
// response framed and written, takes four allocations: the pending
// (carhop's own per-request state and the *http.Request in one object),
// the header map and its table, and the head's string. The loop's side of the connection and the socket are fakes, so
// that nothing else allocates.
func TestRequestAllocations(t *testing.T) {
	const body = "Hello, World!"
	u := newUnit(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
	req := []byte("GET /search?q=carhop HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\n" +
		"Accept: text/html\r\nAccept-Language: en\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n")
	served := 0
	one := func() {
		require.Equal(t, len(req), u.feed(req))
		served++
	}
	one() // fills the pools and the Date cache
	allocs := testing.AllocsPerRun(1000, one)
	t.Logf("%.0f allocations per request", allocs)
	assert.LessOrEqual(t, allocs, 4.0, "allocations per request (see BenchmarkServe -benchmem for where)")
	assert.Equal(t, served, bytes.Count(u.conn.out.Bytes(), []byte("HTTP/1.1 200 OK\r\n")), "every request answered")
	assert.Equal(t, served, bytes.Count(u.conn.out.Bytes(), []byte(body)))
}
