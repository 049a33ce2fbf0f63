package adapter

import (
	"errors"
	"fmt"
	"net/http"
)

// ErrWorkerKept is ReleaseWorker's error when the handler keeps its
// worker because the descriptor budget is spent (Stats.FileLimit): each
// handler beside the pool counts as holding a descriptor, so that such
// handlers cannot take those the server needs to accept connections.
var ErrWorkerKept = errors.New("carhop: descriptor budget spent: the handler keeps its worker")

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
//
// Each handler beside the pool counts against the descriptor budget, as
// if it held a descriptor of its own; once that is spent ReleaseWorker
// returns ErrWorkerKept, and the handler keeps its worker.
func ReleaseWorker(w http.ResponseWriter) error {
	for {
		switch rw := w.(type) {
		case *response:
			if !rw.leavePool() {
				return ErrWorkerKept
			}
			return nil
		case interface{ Unwrap() http.ResponseWriter }:
			w = rw.Unwrap()
		default:
			return fmt.Errorf("carhop: ReleaseWorker on a %T: %w", w, http.ErrNotSupported)
		}
	}
}

// warnStayed says, once per server, that a handler that streams or
// hijacks kept its worker because the descriptor budget was spent
// (channel.Leave): past that the threads bound such handlers again, and
// enough of them leave none to answer anyone else.
func (s *Server) warnStayed() {
	if s.stayed.CompareAndSwap(false, true) {
		fds := s.loop.Files()
		s.cfg.logger.Warn("carhop: descriptor budget spent: handlers that stream or hijack keep their workers (raise RLIMIT_NOFILE, or lower the connection limit)",
			"open_files", fds.Open(), "file_limit", fds.Limit(), "threads", s.cfg.threads)
	}
}
