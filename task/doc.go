// Package task is carhop's bounded task pool: a fixed set of worker
// goroutines that run the tasks the event loops hand over, one complete
// request at a time. It is Waitress's ThreadedTaskDispatcher for Go.
//
// The pool owns two things: the worker goroutines, which are the only
// goroutines in carhop that run net/http handlers, and the FIFO queue of
// tasks waiting for one of them. Keeping handlers on a few workers instead
// of a goroutine per connection is what bounds the memory and the downstream
// load a burst of clients can cause; slow or idle clients cost the event
// loop a buffer and never cost a worker.
//
// Some handlers run as long as their client stays: one that takes its
// connection over (a websocket) or streams events to it. Left on a
// worker, as many of them as there are threads would stop the server
// answering anyone else. A task that knows it has become such a handler
// releases its place ([Releaser]): it leaves the count at once, a new
// worker takes its place as soon as one is needed, and the task runs on,
// on its own goroutine, as a net/http handler would. The threads bound
// the handlers that answer requests, not these.
//
// A task touches only its own request and the output interface of the
// channel that submitted it. It must not touch sockets, gnet connections or
// gnet's buffers, and it must not parse: those belong to the event loop
// that owns the connection, and gnet forbids using them off the loop. The
// pool enforces none of this; it is a contract with the channel and adapter
// packages, which build the tasks.
//
// [Pool.Submit] never waits for a worker, because the event loops call it
// and an event loop that blocks stalls every connection it serves. The
// queue is therefore unbounded; it is bounded in practice by the caller,
// which keeps at most one task per connection queued or running (a
// connection's next pipelined request is submitted only when the previous
// one has finished), so the queue never holds more tasks than there are
// connections.
//
// A task that panics is recovered and logged and its worker carries on; the
// adapter recovers handler panics itself to answer 500, so this is the last
// line of defence. When tasks queue up because every worker is busy, the
// pool logs a rate-limited "task queue depth" warning, as Waitress does on
// its waitress.queue logger. [Pool.Stats] reports the queue and the workers
// for monitoring.
//
// Every exported method of [Pool] states from which goroutines it may be
// called.
package task
