package adapter

import (
	"fmt"
	"net/http"
)

// ReleaseWorker tells carhop that the handler writing to w will now wait
// a long time for something no thread limit should count: a long poll
// waiting for an event, a handler waiting for another client. From then
// on it does not count against WithThreads, and once a request needs a
// worker, a new one takes its place while the handler goes on beside the
// pool, as a handler does on its own when it flushes (a stream) or
// hijacks (a websocket). It is for the handler that waits before it
// knows its answer (a long poll that may end in 204), which flushing the
// head would commit. A handler that waits for a backend should keep its
// worker: the threads are there to bound what the backends see.
//
// w is carhop's http.ResponseWriter or a wrapper whose Unwrap method
// returns the one it wraps, as for http.ResponseController. On any other
// (net/http's own server, httptest) ReleaseWorker does nothing and
// returns an error wrapping http.ErrNotSupported, so a handler may call
// it whatever server runs it. Call it from the handler's goroutine.
func ReleaseWorker(w http.ResponseWriter) error {
	for {
		switch rw := w.(type) {
		case *response:
			rw.leavePool()
			return nil
		case interface{ Unwrap() http.ResponseWriter }:
			w = rw.Unwrap()
		default:
			return fmt.Errorf("carhop: ReleaseWorker on a %T: %w", w, http.ErrNotSupported)
		}
	}
}
