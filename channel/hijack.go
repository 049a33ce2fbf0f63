package channel

import "errors"

// Detacher is implemented by a Conn that can hand its socket over to a
// handler (http.Hijacker).
type Detacher interface {
	// Detach returns a new file descriptor for the socket and the input
	// received but not consumed, then closes the loop's hold on the
	// connection (Closed follows). Loop only.
	Detach() (fd int, unread []byte, err error)
}

// ErrPipelined is Hijack's answer, with nothing taken, when the loop has
// already read input behind the request being served: another request,
// or part of one, or bytes after a request the client said was its last
// (which the loop drops). A hijacker would read the stream from the
// middle. The request goes on as an ordinary one, and what the client
// pipelined is answered after it. net/http hands such bytes to the
// hijacker unparsed, because it reads no request ahead; an Upgrade or
// CONNECT request, which is how a client asks for a hijack, is never read
// past either, so this concerns only hijacks the client did not ask for.
var ErrPipelined = errors.New("carhop: cannot hijack: the server has read what the client sent behind this request")

// hijack is a worker's request for the socket, answered by the loop.
type hijack struct {
	done    chan struct{}
	ready   bool // the output before the hand-over is written: the loop may detach once it has gone out
	fd      int
	unread  []byte
	release func()
	err     error
}

// Hijack takes the connection away from the server. It first claims the
// socket, after which the loop parses nothing more, and fails with
// ErrPipelined if the loop has read past this request already; then
// it calls before, in which the worker writes what must precede the
// hand-over (a status line it owes), and once all output has reached
// the socket the loop stops serving the connection and hands over a file
// descriptor for it and the bytes the client sent after this request.
// The caller owns the descriptor, and calls release once it has closed
// it (Config.HandedOver; never nil when err is nil). Worker only.
func (ch *Channel) Hijack(before func()) (fd int, unread []byte, release func(), err error) {
	h := &hijack{done: make(chan struct{})}
	ch.mu.Lock()
	if is(ch.state, closed) || ch.hijacker() != nil {
		ch.mu.Unlock()
		return -1, nil, nil, ErrClosed
	}
	if ch.waiting() != nil || is(ch.state, readAhead) {
		ch.mu.Unlock()
		return -1, nil, nil, ErrPipelined
	}
	if ch.x == nil {
		ch.x = &extra{}
	}
	ch.x.hijack = h
	ch.mu.Unlock()
	if before != nil {
		before()
	}
	ch.mu.Lock()
	h.ready = true
	ch.wakeLocked()
	ch.mu.Unlock()
	<-h.done
	if h.err != nil {
		return -1, nil, nil, h.err
	}
	return h.fd, h.unread, h.release, nil
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
