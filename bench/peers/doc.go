// Package peers runs the real servers the benchmark suite compares carhop
// with, each answering the same handler: "Hello, World!" as text/plain
// with a Content-Length, keep-alive honoured, and at BigPath a body of
// BigSize bytes for the slow-read scenario. Each server lives in its own
// file; Servers lists them by name.
//
// The package only starts and stops servers. Load generation, pinning and
// reporting belong to the rest of bench/.
package peers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// Body is what every server answers.
const Body = "Hello, World!"

// BigPath is where every server answers BigSize bytes instead: a response
// a slow reader takes many seconds over, far larger than the kernel's
// send buffer on a real network, so that a design which writes it from
// its worker keeps the worker that long.
const (
	BigPath = "/big"
	BigSize = 1 << 20
)

// Big is the body at BigPath: BigSize bytes of 'x', which the external
// servers make as easily as the Go ones.
var Big = bytes.Repeat([]byte("x"), BigSize)

var (
	bodyLength = strconv.Itoa(len(Body))
	bigLength  = strconv.Itoa(BigSize)
)

// Hello is the net/http form of the benchmark handler. It declares the
// length itself: net/http and carhop would compute it for a body this
// small, but nbio frames whatever the handler leaves undeclared as
// chunked, and the servers are to send the same bytes.
var Hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	if r.URL.Path == BigPath {
		h.Set("Content-Length", bigLength)
		_, _ = w.Write(Big)
		return
	}
	h.Set("Content-Length", bodyLength)
	_, _ = io.WriteString(w, Body)
})

// A Server serves Body on addr ("127.0.0.1:port") until ctx ends, and
// returns once it has stopped. ready is called once it accepts connections.
type Server func(ctx context.Context, addr string, ready func()) error

// Servers maps names to servers.
var Servers = map[string]Server{
	"carhop":   Carhop,
	"net-http": NetHTTP,
	"gnet-raw": GnetRaw,
	"nbio":     NBIO,
	"fasthttp": FastHTTP,
}

// Names lists the servers in a stable order.
func Names() []string {
	names := make([]string, 0, len(Servers))
	for n := range Servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run runs the named server.
func Run(ctx context.Context, name, addr string, ready func()) error {
	s, ok := Servers[name]
	if !ok {
		return fmt.Errorf("peers: unknown server %q (have %v)", name, Names())
	}
	return s(ctx, addr, ready)
}
