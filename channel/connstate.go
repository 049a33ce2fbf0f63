package channel

import (
	"net"
	"strings"
)

// ConnState is where a connection stands, as Config.ConnState reports it.
// The states and their order are net/http's ConnState, which the adapter
// passes them on as.
type ConnState uint8

const (
	// StateNew is a connection just accepted, reported once, before any
	// request.
	StateNew ConnState = iota
	// StateActive says that a request's head has arrived (or was
	// refused); it is not reported again until the request has been
	// answered.
	StateActive
	// StateIdle says that the request was answered and the connection
	// waits for the next. A request already pipelined behind it makes it
	// active again at once.
	StateIdle
	// StateHijacked says that a handler took the socket. Terminal: no
	// StateClosed follows.
	StateHijacked
	// StateClosed says that the connection is gone. Terminal.
	StateClosed
)

// connTracked is what a channel keeps when Config.ConnState or ConnValue
// is set. Under the channel's mutex, except remote and value, which never
// change.
type connTracked struct {
	// remote is the client's address, copied when the connection opens,
	// so that whoever the hook gives it to may ask for it from any
	// goroutine, at any time; the socket layer's copy is loop only and
	// released on close.
	remote net.Addr
	// begun counts the requests whose heads arrived (or were refused) and
	// that no worker has finished yet: the connection is active while it
	// is above zero. A count rather than a flag, because a pipelined
	// request may arrive while the one before it is being served.
	begun int
	// value is Config.ConnValue's.
	value any
}

// track starts tracking a new connection: its value, then its states.
// Loop only, from Init.
func (ch *Channel) track() {
	t := &connTracked{remote: ownAddr(ch.conn.RemoteAddr())}
	ch.x = &extra{conn: t}
	if ch.site.ConnValue != nil {
		t.value = ch.site.ConnValue(ch)
	}
	if ch.site.ConnState != nil {
		ch.site.ConnState(ch, StateNew)
	}
}

// ConnValue is what Config.ConnValue returned when the connection opened,
// from any goroutine; nil without ConnValue.
func (ch *Channel) ConnValue() any {
	if ch.site.ConnValue == nil {
		return nil
	}
	return ch.x.conn.value
}

// ownAddr copies a TCP address whose zone string the socket layer hands
// back to its byte pool once the connection closes (gnet's release); the
// rest of the address is the connection's own.
func ownAddr(a net.Addr) net.Addr {
	if t, ok := a.(*net.TCPAddr); ok && t.Zone != "" {
		c := *t
		c.Zone = strings.Clone(t.Zone)
		return &c
	}
	return a
}

// ConnRemoteAddr is the client's address, from any goroutine, for a
// tracked channel (Config.ConnState or ConnValue); nil otherwise.
func (ch *Channel) ConnRemoteAddr() net.Addr {
	// x and x.conn are set in Init, before the channel is shared, and
	// never change on a tracked channel: no lock needed.
	if !ch.site.tracks() {
		return nil
	}
	return ch.x.conn.remote
}

// began reports StateActive when a request's head has arrived (or was
// refused) and no earlier request is still unanswered, as net/http does
// once it has read a head. Loop only. Small enough to inline, so that a
// server without the hook pays a nil check per request, not a call.
func (ch *Channel) began() {
	if ch.site.ConnState != nil {
		ch.reportBegan()
	}
}

func (ch *Channel) reportBegan() {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.x.conn.begun++
	// After a response that closes the connection, what the loop still
	// parses is dropped, not served: the connection is not active again.
	if ch.x.conn.begun == 1 && !is(ch.state, closed|hijacked|closeAfter) {
		ch.site.ConnState(ch, StateActive)
	}
}

// answered reports StateIdle when a worker finished a request on a
// connection that stays open, and StateActive right after if the next
// request's head has already arrived (as net/http does for pipelined
// requests). Worker only, mu held; inlined as began is.
func (ch *Channel) answered() {
	if ch.site.ConnState != nil {
		ch.reportAnswered()
	}
}

func (ch *Channel) reportAnswered() {
	t := ch.x.conn
	t.begun = max(t.begun-1, 0)
	if is(ch.state, closeAfter|closed|hijacked) {
		return
	}
	ch.site.ConnState(ch, StateIdle)
	if t.begun > 0 {
		ch.site.ConnState(ch, StateActive)
	}
}

// Disconnect closes the connection, from any goroutine, ConnState's hook
// included: it holds the channel's mutex, which Disconnect must take to
// find the socket (Outlive may have moved it), so the close happens on a
// goroutine of its own, shortly after.
func (ch *Channel) Disconnect() {
	go func() {
		ch.mu.Lock()
		conn := ch.conn
		ch.mu.Unlock()
		_ = conn.Close()
	}()
}
