package channel

// Owes reports whether the channel owes its client responses: a request
// queued or running, output not yet written, or, if unparsed, requests
// still to be parsed from input the loop holds (pipelined past
// MaxPipelined; the loop cannot tell a complete request from part of one,
// and parsing it is how to find out). Any goroutine.
func (ch *Channel) Owes(unparsed bool) bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.owes(unparsed)
}

// owes is Owes with mu held.
func (ch *Channel) owes(unparsed bool) bool {
	return !is(ch.state, closed|hijacked) && ch.hijacker() == nil &&
		(is(ch.state, busy) || ch.head != nil || ch.outLen() > 0 || unparsed)
}

// Outlive is called by the loop when the client's input has ended (EOF)
// and the socket layer is letting go of the connection. A client that
// half-closes its side after sending its requests (shutdown(SHUT_WR), as
// "nc -N" and some scripts do) still expects the responses, and the
// connection can carry them; gnet closes at EOF all the same.
//
// If the channel still owes responses (Owes, with unparsed as the loop
// says), Outlive moves it to conn, which must reach the same socket, and
// reports true. From then on whoever drives conn is the channel's loop:
// it calls Received with the input the loop had not parsed (requests
// pipelined past MaxPipelined), Pump on every Wake, and Closed once conn
// is closed. The channel closes
// the connection once it has answered every complete request; a request
// cut short by the EOF is dropped. Unparsed input counts even when no
// request is queued: a worker may have answered every parsed request
// just before the EOF, its wake-up to parse the rest still on its way to
// the loop, and those requests would be lost. If it owes nothing (any
// more: a worker may have finished since the loop asked Owes), Outlive
// reports false and the loop goes on to Closed, as for any close.
//
// A half-close cannot be told from a close until a write fails, so the
// requests' contexts end at the EOF, as net/http's do (its background
// read sees the same EOF): a handler that watches its context stops,
// and one that does not is still heard. Loop only.
func (ch *Channel) Outlive(conn Conn, unparsed bool) bool {
	ch.mu.Lock()
	if !ch.owes(unparsed) {
		ch.mu.Unlock()
		return false
	}
	ch.conn = conn
	ch.setLastOut(0) // the old socket layer held none of our output (the loop checks), conn holds none yet
	ch.idle = 0
	put(&ch.state, woken|filled|emptied|timedOut, false)
	put(&ch.state, ended, true)
	serving := ch.current()
	ch.mu.Unlock()
	ch.site.Counters.InputEnded.Add(1)
	ch.reqStarted.Clear() // no request timeout for one that cannot complete
	if serving != nil {
		ch.cancel(serving) // queued ones are cancelled as Run takes them
	}
	return true
}
