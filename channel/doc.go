// Package channel holds the state of one client connection, Waitress's
// "channel": the request parser, the body of the request being received,
// the queue of complete requests waiting for a worker, and the output
// buffer between the handler and the socket.
//
// Two kinds of goroutine touch a channel, and the split is the design:
//
//   - The event loop that owns the connection calls [Channel.Received],
//     [Channel.Pump], [Channel.Closed] and [Channel.Expire]. Only it
//     parses, reads request bytes, writes to the socket and closes it.
//     It never blocks and never runs application code. When the client's
//     input ends, [Channel.Outlive] may hand the channel to another
//     goroutine, which is its loop from then on.
//   - One worker at a time (the channel submits at most one task to the
//     pool, so pipelined requests are answered in order) runs a complete
//     request through the [Config.Serve] hook, which writes the response
//     with [Channel.Write], [Channel.Flush] and [Channel.Finish]. Workers
//     fill the output buffer and wake the loop; the one exception is a
//     worker writing to the socket itself, with the mutex held, when the
//     loop has nothing in hand and nothing of the connection's is queued
//     in the socket layer (see [Conn]'s TryWrite). A handler that will
//     run as long as its client (it streams, or hijacks) may give its
//     worker's place in the pool away ([Channel.RunReleasing],
//     [Channel.Leave]), counted against [Config.Files] until it returns;
//     its goroutine then serves nothing more of the channel's, which
//     queues itself again for whatever the client sent behind.
//
// The fields shared by both are guarded by the channel's mutex; the ones
// marked "loop only" are touched by the event loop alone.
//
// Flow control, which gnet lacks: the loop parses ahead at most
// [Config.MaxPipelined] complete requests (one while [Config.Memory] is
// spent: what waits counts against it) and then stops consuming input,
// which gnet goes on reading, counted against Config.Memory too, until
// the client is cut off past [Config.MaxUnparsed] (64 KiB while the
// budget is spent); a head still arriving counts too, and is refused past
// 16 KiB while the budget is spent; request bodies beyond [Config.InbufOverflow] bytes go
// to a temporary file; output waits in a buffer that spills to a
// temporary file beyond [Config.OutbufOverflow] bytes, and a worker
// writing into it pauses once it holds [Config.OutbufHighWatermark]
// bytes, until the client reads.
//
// Files by concern: channel.go the types; receive.go the loop's side of
// input (parsing, the 100 Continue, refusals); queue.go the ready queue
// and the worker's Run and RunReleasing; write.go the worker's side of output (Write,
// backpressure, Finish, the direct write); pump.go the loop's side of
// output (Pump, sendfile, linger); close.go ends and timeouts; outlive.go
// a half-closed client; hijack.go and connstate.go what net/http's
// Hijacker and ConnState need.
//
// The package does not know net/http: the adapter turns a parsed head into
// whatever request value it wants through [Config.NewRequest] and formats
// responses itself.
package channel
