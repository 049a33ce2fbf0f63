package channel

// A channel's booleans are bits: a bool field each would take a
// connection's Channel out of its size class, 16 bytes or more for
// every idle connection. The two sets have different owners and live in
// different bytes, so that the loop never writes a byte a worker writes.

// loopFlags are the event loop's alone.
type loopFlags uint8

const (
	refused   loopFlags = 1 << iota // a request was refused: read nothing more
	upgrading                       // an Upgrade request is queued: what follows may not be HTTP
	last                            // a request without keep-alive was received: read nothing more
	handed                          // Received handed the channel to the pool (HandedOff)
	writing                         // Pump is inside conn.Write with mu held
	closedMid                       // Closed was called during that Write; Pump runs it after
	discarded                       // input after the last request read was dropped: the client may still be sending
	detaching                       // the socket is dup'ed for a hijacker; gnet still watches it until Closed
)

// muFlags are guarded by the channel's mutex.
type muFlags uint16

const (
	busy       muFlags = 1 << iota // a task is queued or running for this channel
	closeAfter                     // close once the output is written
	draining                       // the server is shutting down: close when idle
	closed                         // Closed has run
	woken                          // a Wake is outstanding
	hijacked                       // the socket has been handed to a hijacker
	loopIdle                       // the loop consumed all input and is receiving no request: a finished response needs nothing more of it
	again                          // Finish found a next request for the worker in Run
	lingering                      // answered and half-closed; input is discarded until the client closes (linger)
	timedOut                       // the ticker found the request too slow
	stalled                        // the ticker closed the connection: the client stopped reading its response
	filled                         // a worker's write-through found the socket full: the next pump says nothing of the client's speed
	emptied                        // a pump found the socket emptied since the last: the client can read faster than long polls let it (Poll's backoff)
	ended                          // the client's input ended while responses were owed: they go to the Conn given to Outlive
	serving                        // a worker is serving the ready queue's first request (Run); Finish takes it off
	readAhead                      // the loop consumed input behind the queued requests (part of a request, or what it dropped after the client's last): a hijack now would leave the hijacker a stream with a hole (Hijack)
)

// is reports whether any of the flags in f is set.
func is[F loopFlags | muFlags](set, f F) bool { return set&f != 0 }

func put[F loopFlags | muFlags](set *F, f F, on bool) {
	if on {
		*set |= f
	} else {
		*set &^= f
	}
}
