package adapter

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/carhop/carhop/channel"
)

// WithConnState sets a function told of each connection's state changes,
// as http.Server's ConnState: http.StateNew once accepted, then
// http.StateActive once a request's head has arrived (or been refused)
// and http.StateIdle once it is answered, request by request, and last http.StateHijacked or
// http.StateClosed. Connections refused at the connection limit or during
// a shutdown get no channel and are not reported.
//
// The function runs on the event loop, or on the worker that finished a
// request, while the connection waits for it: it must return quickly
// (count, log, or look the connection up in a map). The net.Conn it is
// given is the same value for every report of one connection, so it can
// key a map; its Close, LocalAddr and RemoteAddr work from any goroutine,
// at any time, and Close may be called from the function itself; its
// Read, Write and deadlines fail with ErrConnNotYours, because the event
// loop owns the socket. Default none.
func WithConnState(f func(net.Conn, http.ConnState)) Option {
	return func(c *config) error {
		c.connState = f
		return nil
	}
}

// WithConnContext sets a function that makes each connection's context
// from the base context (WithBaseContext's, or context.Background(), with
// http.ServerContextKey set), as http.Server's ConnContext: every request
// on the connection has the context it returns as its parent, so its
// values reach r.Context(), and cancelling it ends those requests. It is called once per connection,
// on the event loop, before WithConnState's StateNew: it must return
// quickly. Its net.Conn is WithConnState's. Where net/http panics on a nil
// context, carhop uses the base context. Default none.
func WithConnContext(f func(ctx context.Context, c net.Conn) context.Context) Option {
	return func(c *config) error {
		c.connContext = f
		return nil
	}
}

// newConnContext makes a channel's context with the user's function.
func (c *config) newConnContext(ch *channel.Channel) any {
	if ctx := c.connContext(c.baseContext, connView{ch}); ctx != nil {
		return ctx
	}
	return c.baseContext
}

// ErrConnNotYours is returned by the I/O methods of the net.Conn given to
// WithConnState's and WithConnContext's functions: the event loop reads
// and writes the socket.
var ErrConnNotYours = errors.New("carhop: the event loop owns this connection's I/O")

// reportConnState passes a channel's state on to the user's function.
func reportConnState(f func(net.Conn, http.ConnState)) func(*channel.Channel, channel.ConnState) {
	return func(ch *channel.Channel, s channel.ConnState) { f(connView{ch}, connStates[s]) }
}

var connStates = [...]http.ConnState{
	channel.StateNew:      http.StateNew,
	channel.StateActive:   http.StateActive,
	channel.StateIdle:     http.StateIdle,
	channel.StateHijacked: http.StateHijacked,
	channel.StateClosed:   http.StateClosed,
}

// connView is the net.Conn WithConnState's function sees. It is one
// pointer, so it goes into an interface without allocating, and two
// views of the same connection are equal.
type connView struct{ ch *channel.Channel }

func (c connView) Read([]byte) (int, error)         { return 0, ErrConnNotYours }
func (c connView) Write([]byte) (int, error)        { return 0, ErrConnNotYours }
func (c connView) Close() error                     { c.ch.Disconnect(); return nil }
func (c connView) LocalAddr() net.Addr              { return c.ch.LocalAddr() }
func (c connView) RemoteAddr() net.Addr             { return c.ch.ConnRemoteAddr() }
func (c connView) SetDeadline(time.Time) error      { return ErrConnNotYours }
func (c connView) SetReadDeadline(time.Time) error  { return ErrConnNotYours }
func (c connView) SetWriteDeadline(time.Time) error { return ErrConnNotYours }
