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

// detach completes a hijack on the loop once all output is written.
func (ch *Channel) detach(h *hijack) {
	defer close(h.done)
	d, ok := ch.conn.(Detacher)
	if !ok {
		h.fd, h.err = -1, ErrClosed
		return
	}
	ch.mu.Lock()
	put(&ch.state, hijacked, true)
	ch.mu.Unlock()
	h.fd, h.unread, h.err = d.Detach()
	if h.err == nil {
		ch.cfg.Counters.Hijacked.Add(1)
	}
}
