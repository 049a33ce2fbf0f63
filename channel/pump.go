package channel

import (
	"errors"
	"syscall"
)

// wakeLocked schedules a pump unless one is already scheduled.
func (ch *Channel) wakeLocked() {
	if is(ch.state, woken|closed) {
		return
	}
	put(&ch.state, woken, true)
	if err := ch.conn.Wake(); err != nil {
		put(&ch.state, woken, false)
	}
}

// claimWake is wakeLocked for a goroutine other than the loop's that is
// about to let go of the mutex: it marks the channel woken and returns
// the Conn to ask, which the caller does with askLoop once the mutex is
// free, or nil when a pump is scheduled already. Asked with the mutex
// held, the loop would wake at once, find it held and sleep on it, and
// need a second wake-up when it was let go: a futex call and a thread
// woken, for every poll of a download and most of a fast one's writes.
func (ch *Channel) claimWake() Conn {
	if is(ch.state, woken|closed) {
		return nil
	}
	put(&ch.state, woken, true)
	return ch.conn
}

// askLoop asks c's loop to pump, after claimWake, without the mutex. A
// connection closed meanwhile is one gnet ignores.
func (ch *Channel) askLoop(c Conn) {
	if c != nil && c.Wake() != nil {
		ch.mu.Lock()
		put(&ch.state, woken, false)
		ch.mu.Unlock()
	}
}

// unlockAndAsk lets go of the mutex and then asks *c's loop, if any: a
// deferred call, so that a panic on the way (a bug, which the adapter
// recovers from as from a handler's) cannot leave the mutex held and the
// loop stuck on it.
func (ch *Channel) unlockAndAsk(c *Conn) {
	ch.mu.Unlock()
	ch.askLoop(*c)
}

// Pump moves output to the socket, closes the connection when a response
// asked for it, hands the socket to a hijacker, and sends an owed 100
// Continue. Loop only.
func (ch *Channel) Pump() {
	ch.mu.Lock()
	put(&ch.state, woken, false)
	if is(ch.state, closed|hijacked) {
		ch.mu.Unlock()
		return
	}
	// gnet sent everything it held since the last pump: the client reads
	// faster than the loop polls, and should be polled sooner.
	drained := ch.lastOut > 0 && ch.conn.OutboundBuffered() == 0
	lastOut := ch.lastOut
	wasFull := ch.lastOut == fileFull
	moved, fileBlocked := false, false
	fromFile := 0
	send := ch.sendBytes()
	for ch.outLen() > 0 {
		queued := ch.conn.OutboundBuffered()
		if queued >= send {
			break
		}
		if queued == 0 {
			sent, blocked := ch.sendSpilled()
			if blocked {
				fileBlocked = true
				break
			}
			if sent > 0 {
				moved = true
				fromFile += sent
				continue
			}
		}
		chunk, err := ch.out.Peek(send)
		if err != nil {
			ch.mu.Unlock()
			ch.site.Logger.Error("carhop: reading buffered response", "remote", ch.remote(), "err", err)
			_ = ch.conn.Close()
			return
		}
		// gnet closes the connection inside Write when the socket has
		// failed (a client reset), and so calls Closed, which takes mu,
		// on this goroutine: Closed defers to us rather than deadlock.
		put(&ch.lf, writing, true)
		_, err = ch.conn.Write(chunk)
		put(&ch.lf, writing, false)
		if err != nil || is(ch.lf, closedMid) {
			if is(ch.lf, closedMid) {
				// The descriptor is closed already: no worker may take
				// the mutex and find the connection open (sendNow).
				put(&ch.state, closed, true)
			}
			ch.mu.Unlock()
			if is(ch.lf, closedMid) {
				put(&ch.lf, closedMid, false)
				ch.Closed()
			}
			return
		}
		ch.site.Counters.BytesOut.Add(uint64(len(chunk)))
		ch.out.Discard(len(chunk))
		moved = true
	}
	// What sendfile sends passes gnet by, so gnet's buffer says nothing
	// of the client then: a socket that a file filled at the last pump
	// and that took a pump's worth of it since was emptied by the client
	// as surely.
	if wasFull && fromFile >= ch.site.SendBytes {
		drained = true
	}
	pending := ch.conn.OutboundBuffered()
	if moved || pending < int(ch.lastOut) {
		ch.lastActive.Mark()
	}
	ch.setLastOut(int32(pending))
	if fileBlocked { // gnet held nothing: sendSpilled runs only then
		ch.setLastOut(fileFull)
	}
	// A client that once emptied its socket between polls would do so
	// again during a long wait, and sit idle: its backoff stays short.
	if drained {
		put(&ch.state, emptied, true)
	}
	limit := uint8(MaxBackoff)
	if is(ch.state, emptied) {
		limit = 0
	}
	if moved {
		ch.idle = 0
	} else if ch.idle < limit {
		ch.idle++
	}
	backoff := int(ch.idle)
	if drained {
		backoff = -1 // the client reads faster than the loop polls
	}
	if is(ch.state, filled) {
		// The worker has just filled the socket itself, so it took
		// nothing of this pump's offer: no sign of a slow client yet
		// (mustWait). The next pump, a quick poll later, judges: a client
		// that reads fast has emptied the socket by then, and waiting
		// PollInterval would leave it idle most of the wait
		// (docs/performance.md, "A quick look after a worker fills the
		// socket").
		put(&ch.state, filled, false)
		backoff = -1
		if pending >= ch.site.SendBytes && ch.site.SendBytes > 1 {
			ch.setLastOut(int32(ch.site.SendBytes - 1)) // still not 0: gnet holds output (sendable)
		}
	}
	left := ch.outLen()
	// A paused writer waits for what only a pump that moved output, or
	// found the socket changed, can give it (mustWait). Waking it after
	// every poll of a socket still full cost a worker's wake-up and sleep
	// for each, in a download to a client reading at a steady rate.
	changed := moved || ch.lastOut != lastOut || ch.x != nil && ch.x.everyPump
	if changed && ch.outStored() < ch.site.OutbufHighWatermark { // as mustWait counts
		ch.wakeWriter()
	}
	if is(ch.lf, upgrading) && !is(ch.state, busy|closeAfter) && ch.head == nil {
		// The Upgrade was answered without a hijack. Received has already
		// run for this wake-up and stopped at the fence, so wake once more:
		// input the client pipelined behind the Upgrade request is parsed
		// now, not when (or if) the client sends more.
		put(&ch.lf, upgrading, false)
		ch.wakeLocked()
	}
	if left == 0 && !is(ch.state, busy) && ch.out != nil {
		ch.dropOutput()
	}
	// A request still arriving when the input ended never will: it does
	// not hold the connection open (Outlive).
	arriving := !is(ch.state, ended) && (ch.receiving() != nil || ch.reqStarted.Load() != 0)
	done := !is(ch.state, busy) && left == 0 && (is(ch.state, closeAfter) || is(ch.state, draining|ended) && ch.head == nil && !arriving)
	// A close after a refusal, or one that leaves the client still
	// sending (input dropped after the last request, a request half
	// received, or a protocol behind an Upgrade or CONNECT fence never
	// read), lingers (linger).
	lingerOnClose := is(ch.lf, refused) ||
		is(ch.state, closeAfter) && !is(ch.state, ended) && (is(ch.lf, discarded|upgrading) || arriving)
	// A drain closes a connection because it is idle, not because the
	// client is done (closeAfter) or gone (ended).
	idleInDrain := is(ch.state, draining) && !is(ch.state, closeAfter|ended)
	h := ch.hijacker()
	handOver := h != nil && h.ready
	ch.mu.Unlock()

	switch {
	case left > 0 || pending > 0:
		ch.site.Poll(ch, backoff) // gnet does not say when the socket drains
	case handOver:
		ch.detach(h)
	case done && lingerOnClose && ch.site.Linger > 0:
		ch.linger()
	case done && idleInDrain && ch.conn.InputPending():
		// A request came as the drain found the connection idle: closing
		// now would reset it unread, and a client cannot tell whether an
		// unanswered request ran. Its read event is on its way; it is
		// served and answered with "Connection: close", as a request
		// already being received is (docs/operations.md).
	case done:
		_ = ch.conn.Close()
	default:
		ch.sendContinue()
	}
}

// sendSpilled sends output from a file straight to the socket
// (sendfile), when that is where the queue starts: the temporary file it
// spilled to, or a file of the handler's (WriteFile). A slow client's
// download then costs no read of the file into memory and no copy
// through gnet. It reports how much it sent, and whether the socket is
// full. Any other failure is left to the usual path, whose write through
// gnet finds it and closes the connection. Loop only, mu held, gnet
// holding nothing of ours.
func (ch *Channel) sendSpilled() (sent int, blocked bool) {
	f, off, n, ok := ch.out.FileFront()
	if !ok {
		return 0, false
	}
	k, err := ch.conn.SendFile(f, off, n)
	if k > 0 {
		ch.site.Counters.BytesOut.Add(uint64(k))
		ch.out.Discard(k)
		return k, false
	}
	return 0, errors.Is(err, syscall.EAGAIN)
}

// setLastOut records what gnet holds of the output after a pump (or
// fileFull), and counts it against the memory budget: gnet keeps it in
// memory until the socket takes it, as the output buffer did before the
// pump handed it over, up to twice sendBytes for a slow client. It is
// counted from pump to pump, so that a client whose socket took it in
// between is counted until the next pump (a poll away, since gnet held
// output), and given back when the connection closes; the pump after a
// worker filled the socket records, and counts, less than gnet holds
// until the next. Mutex held.
func (ch *Channel) setLastOut(n int32) {
	was, now := max(ch.lastOut, 0), max(n, 0)
	if now > was {
		ch.site.Memory.Hold(int(now - was))
	} else if now < was {
		ch.site.Memory.Release(int(was - now))
	}
	ch.lastOut = n
}

// sendBytes is how much output a pump lets gnet hold: SendBytes, or
// sendFloor while the memory budget is spent. A fast client's socket
// takes the chunks as they come and only sees more, smaller writes.
// Mutex held.
func (ch *Channel) sendBytes() int {
	if ch.site.Memory.Spent() {
		return min(ch.site.SendBytes, sendFloor)
	}
	return ch.site.SendBytes
}

// sendFloor is what a pump hands gnet at a time while the memory budget
// is spent: 1,000 slow readers at a 4 MiB budget left the server 41 MiB
// resident with it, 64 MiB with SendBytes' 64 KiB (docs/performance.md,
// "Output gnet holds").
const sendFloor = 16 << 10

// fileFull is lastOut after a pump whose sendfile found the socket full
// while gnet held nothing: the socket holds output of ours, which is not
// what gnet's buffer says. It is not 0, so a worker does not write
// through (sendable).
const fileFull = -1

// linger half-closes a connection whose request was refused, instead of
// closing it: the client may still be sending the rest of that request,
// and a close with unread input makes the kernel answer it with a reset,
// which can destroy the error response before the client reads it (a
// 413 for an upload would read as "connection reset"). The same goes for
// a response that closed the connection while the client was still
// sending: requests pipelined after its last one, or what follows a
// CONNECT accepted without a Hijack (the client sends into the tunnel it
// was told of). Input is read and discarded (Received) until the client
// closes, or Timeouts.Linger has passed (Expire). Loop only.
func (ch *Channel) linger() {
	ch.mu.Lock()
	already := is(ch.state, lingering)
	put(&ch.state, lingering, true)
	ch.mu.Unlock()
	if already {
		return
	}
	ch.lastActive.Mark() // Received no longer moves it: Linger bounds the whole linger
	if err := ch.conn.CloseWrite(); err != nil {
		_ = ch.conn.Close()
	}
}

// hijacker is the hijack asked for, if any. Called with mu held.
func (ch *Channel) hijacker() *hijack {
	if ch.x == nil {
		return nil
	}
	return ch.x.hijack
}
