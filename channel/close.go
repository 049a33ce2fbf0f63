package channel

import (
	"time"
)

// Closed is called by the loop once the connection is gone, whoever closed
// it. Queued requests are dropped, a running one has its context ended,
// and a worker paused on output is released. Loop only.
func (ch *Channel) Closed() {
	if is(ch.lf, writing) {
		put(&ch.lf, closedMid, true) // called back from inside Pump's Write: mu is held
		return
	}
	put(&ch.lf, refused, true) // read nothing more: Received may be below us on the stack
	ch.mu.Lock()
	wasClosed := is(ch.state, closed) // StateClosed is reported once, however often Closed runs
	put(&ch.state, closed, true)
	queued := ch.takeAll()
	serving := ch.current()
	out := ch.out
	ch.out = nil
	ch.setLastOut(0) // gnet frees what it held of the output with the connection
	h := ch.hijacker()
	if is(ch.state, stalled) {
		ch.site.Logger.Info("carhop: client not reading its response", "remote", ch.remote())
	}
	handedOver := is(ch.state, hijacked)
	ch.wakeWriter()
	if ch.site.ConnState != nil && !handedOver && !wasClosed {
		ch.site.ConnState(ch, StateClosed)
	}
	ch.mu.Unlock()
	switch {
	case is(ch.lf, detaching):
		// gnet has let go of the socket: the hijacker may have it.
		put(&ch.lf, detaching, false)
		h.release = func() {}
		if ch.site.HandedOver != nil {
			h.release = ch.site.HandedOver()
		}
		close(h.done)
	case h != nil && !handedOver:
		h.fd, h.err = -1, ErrClosed
		close(h.done)
	}
	if r := ch.receiving(); r != nil {
		ch.release(r)
		ch.rx.cur = nil
	}
	if ch.rx != nil {
		ch.rx.count(ch.site.Memory, 0) // a head arriving, or input left unread, now garbage or gnet's to free
	}
	for r := queued; r != nil; r = r.next {
		ch.cancel(r)
		ch.release(r)
	}
	if serving != nil && !handedOver {
		ch.cancel(serving)
	}
	if out != nil {
		if out.HasSpilled() {
			ch.site.Counters.SpilledOutputs.Add(1)
		}
		out.Close()
	}
}

// Expire applies the timeouts at time now and reports whether it closed
// the connection. It runs on the loop's ticker goroutine, so it reads only
// atomics and mutex-guarded state and uses the goroutine-safe Conn methods.
func (ch *Channel) Expire(now time.Time, t Timeouts) bool {
	at := now.UnixNano()
	if started := ch.reqStarted.Load(); started != 0 && t.Request > 0 && started.Since(at) > t.Request {
		ch.mu.Lock()
		news := !is(ch.state, timedOut)
		put(&ch.state, timedOut, true)
		conn := ch.conn
		ch.mu.Unlock()
		if news {
			_ = conn.Wake() // the loop answers 408
		}
		return false
	}
	since := ch.lastActive.Load().Since(at)
	ch.mu.Lock()
	sending := ch.outLen() > 0 || ch.lastOut > 0
	state := ch.state
	conn := ch.conn
	ch.mu.Unlock()
	switch {
	case is(state, closed):
		// The loop's registry drops closed channels lazily; the Conn of
		// one may no longer be ours to close.
	case is(state, lingering):
		if since > ch.site.Linger {
			_ = conn.Close()
			return true
		}
	case sending && t.Write > 0 && since > t.Write:
		// Also frees a worker paused on a client that stopped reading.
		// Closed logs it: the client's address is the loop's to read.
		ch.mu.Lock()
		put(&ch.state, stalled, true)
		ch.mu.Unlock()
		_ = conn.Close()
		return true
	case !sending && !is(state, busy) && t.Idle > 0 && since > t.Idle:
		_ = conn.Close()
		return true
	}
	return false
}

// Gone reports whether the connection has closed (Closed has run). Any
// goroutine.
func (ch *Channel) Gone() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return is(ch.state, closed)
}

// Drain makes the channel close as soon as it has no request in any stage:
// a request being received is still received, served and answered (with
// "Connection: close"). Any goroutine.
func (ch *Channel) Drain() {
	ch.mu.Lock()
	put(&ch.state, draining, true)
	ch.wakeLocked()
	ch.mu.Unlock()
}

// Wake makes the loop pump this channel soon. Any goroutine.
func (ch *Channel) Wake() {
	ch.mu.Lock()
	c := ch.claimWake()
	ch.mu.Unlock()
	ch.askLoop(c)
}
