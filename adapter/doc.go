// Package adapter gives carhop net/http semantics: it turns parsed
// requests into *http.Request values, runs an http.Handler on a worker of
// the task pool, and writes its response (status, headers, framing,
// streaming, trailers, hijacking) into the connection's channel.
//
// [Serve] is what applications call; [New] with [Server.Serve] and
// [Server.Shutdown] is the same with control over the lifecycle.
//
// Ownership: request values are built on the event loop (from the parsed
// head, before any handler sees them) and then belong to the one worker
// that runs the handler. The response writer belongs to that worker and
// touches the connection only through the channel's worker interface
// (Write, Flush, Finish, Hijack). A handler that flushes or hijacks
// gives its worker's place in the pool away and goes on on that
// goroutine, beside the pool (task.Releaser): it will run as long as its
// client. It counts against the descriptor budget while it does
// (channel.Leave), and keeps its worker when that is spent. Nothing here
// reads or writes a socket.
package adapter
