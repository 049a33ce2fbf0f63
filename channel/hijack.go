package channel

// Detacher is implemented by a Conn that can hand its socket over to a
// handler (http.Hijacker).
type Detacher interface {
	// Detach returns a new file descriptor for the socket and the input
	// received but not consumed, then closes the loop's hold on the
	// connection (Closed follows). Loop only.
	Detach() (fd int, unread []byte, err error)
}

// hijack is a worker's request for the socket, answered by the loop.
type hijack struct {
	done   chan struct{}
	fd     int
	unread []byte
	err    error
}

// Hijack takes the connection away from the server: once the output
// written so far has reached the socket, the loop stops serving the
// connection and hands over a file descriptor for it and the bytes the
// client sent after this request's head. Worker only.
func (ch *Channel) Hijack() (fd int, unread []byte, err error) {
	h := &hijack{done: make(chan struct{})}
	ch.mu.Lock()
	if is(ch.state, closed) || ch.hijacker() != nil {
		ch.mu.Unlock()
		return -1, nil, ErrClosed
	}
	if ch.x == nil {
		ch.x = &extra{}
	}
	ch.x.hijack = h
	ch.wakeLocked()
	ch.mu.Unlock()
	<-h.done
	return h.fd, h.unread, h.err
}

// detach starts a hijack on the loop once all output is written. The
// hijacker gets the socket only when Closed says gnet has let go of it:
// gnet closes its descriptor asynchronously, and until then it still
// reads the socket (a dup shares it), so input that arrives meanwhile,
// such as the first websocket message of a client answered quickly, is
// collected here (Received) rather than lost. Loop only.
func (ch *Channel) detach(h *hijack) {
	d, ok := ch.conn.(Detacher)
	if !ok {
		h.fd, h.err = -1, ErrClosed
		close(h.done)
		return
	}
	ch.mu.Lock()
	put(&ch.state, hijacked, true)
	if ch.site.ConnState != nil {
		ch.site.ConnState(ch, StateHijacked)
	}
	ch.mu.Unlock()
	h.fd, h.unread, h.err = d.Detach()
	if h.err != nil {
		close(h.done)
		return
	}
	ch.site.Counters.Hijacked.Add(1)
	put(&ch.lf, detaching, true) // Closed completes the hand-over
}

// collect adds input gnet read while letting go of a hijacked socket to
// what the hijacker gets. Loop only.
func (ch *Channel) collect(in []byte) {
	ch.mu.Lock()
	h := ch.x.hijack
	ch.mu.Unlock()
	h.unread = append(h.unread, in...)
}
