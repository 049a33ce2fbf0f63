// Package peers runs the real servers the benchmark suite compares carhop
// with, each answering the same handler: "Hello, World!" as text/plain
// with a Content-Length, keep-alive honoured. Each server lives in its own
// file; Servers lists them by name.
//
// The package only starts and stops servers. Load generation, pinning and
// reporting belong to the rest of bench/.
package peers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// Body is what every server answers.
const Body = "Hello, World!"

var bodyLength = strconv.Itoa(len(Body))

// Hello is the net/http form of the benchmark handler. It declares the
// length itself: net/http and carhop would compute it for a body this
// small, but nbio frames whatever the handler leaves undeclared as
// chunked, and the servers are to send the same bytes.
var Hello = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain")
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
