package channel

import (
	"errors"
	"net"
	"os"
	"sync"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/internal/clock"
	"github.com/carhop/carhop/parser"
)

// ErrClosed is returned to a worker writing to a connection that is gone.
var ErrClosed = errors.New("carhop: connection closed")

// Conn is the socket side of a channel; gnet's Conn, adapted by the loop.
type Conn interface {
	// Write sends or queues bytes. Loop only.
	Write(p []byte) (int, error)
	// OutboundBuffered is how many bytes the socket layer still holds.
	// Loop only.
	OutboundBuffered() int
	// Wake makes the loop call Received (with any unread input) and Pump
	// soon. Any goroutine.
	Wake() error
	// Close closes the connection; the loop then calls Closed. Any
	// goroutine.
	Close() error
	// CloseWrite sends FIN once what was written is out, and keeps
	// reading. Loop only.
	CloseWrite() error
	// TryWrite writes pre and then p, in one system call, as far as the
	// socket takes them now, without blocking and around the socket
	// layer's own buffer; it returns how many bytes of the two it wrote.
	// Any goroutine, with the channel's mutex held (so the connection
	// cannot close meanwhile) and nothing in that buffer (so the bytes
	// keep their order).
	TryWrite(pre, p []byte) (int, error)
	// SendFile sends up to n bytes of f from offset off to the socket in
	// the kernel (sendfile), as far as the socket takes them now, without
	// blocking and around the socket layer's own buffer. Loop only, with
	// nothing in that buffer.
	SendFile(f *os.File, off int64, n int64) (int, error)
	// RemoteAddr is the client's address. Loop only, until Closed has
	// returned: gnet releases it then.
	RemoteAddr() net.Addr
	// InputPending reports whether the client has sent bytes the loop
	// has not handed to the channel yet: in the socket, or held by the
	// socket layer. Loop only.
	InputPending() bool
}

// Request is one request of a channel, from complete head to finished
// response. Config.NewRequest allocates it, usually inside a larger
// structure of the adapter's.
type Request struct {
	// Value is the adapter's, set by Config.NewRequest.
	Value any
	// Body holds the request body once the request is complete, or is nil
	// for a request without one. The channel releases it when the
	// request is finished.
	Body *buffers.Overflowable
	// Err is set for a refused request: no handler runs, the channel
	// answers it with Config.ErrorResponse and closes.
	Err *parser.Error

	next *Request // the next request in the channel's ready queue

	// The booleans share a word at the end: the adapter allocates a
	// Request with each request's state, sized to fill a size class.

	// KeepAlive is the client's wish, from the parser.
	KeepAlive    bool
	wantContinue bool // 100-continue is owed once this request is first in line
	upgrade      bool // the client asked to switch protocols

	held int32 // counted against Config.Memory while it waits behind another (enqueue)
}

// Channel is one connection's state. See the package documentation for
// which goroutine may call what.
//
// An idle keep-alive connection costs its Channel and gnet's connection,
// nothing else (parser and output buffer go back to pools between
// requests), so the struct is kept to 80 bytes, which the loop keeps with
// gnet's Conn in one object of the 96-byte size class (Init): the
// booleans are bits (flags.go), times are 32-bit stamps, what a request
// needs while it arrives or while a worker waits is behind a pointer
// (receiver, extra), the request being served stays at the head of the
// ready queue rather than in a field of its own, the configuration and
// the local address are one pointer shared by the connections to that
// address (Site), and the remote address is the socket layer's. See
// docs/performance.md before adding a field.
type Channel struct {
	site *Site // shared by every connection to the same address
	conn Conn

	rx *receiver // loop only: the request being received; nil between requests

	// Read by the ticker; 32 bits, where Unix nanoseconds took 64, to
	// keep the channel in its size class.
	lastActive clock.AtomicStamp // the last progress either way
	reqStarted clock.AtomicStamp // the current head's first byte, cleared between heads

	mu      sync.Mutex
	head    *Request // the ready queue: complete requests, the first being served while the serving flag is set
	out     *buffers.Overflowable
	x       *extra    // made by a paused writer or a hijack
	lastOut int32     // OutboundBuffered at the last pump, or fileFull (pump.go); written by the loop under mu
	state   muFlags   // under mu
	lf      loopFlags // loop only
	idle    uint8     // pumps in a row that found output waiting and moved none of it (Poll); under mu
}

// receiver is what the loop needs while a request arrives: the parser,
// and the request it is filling once the head is complete. It goes back
// to a pool between requests, with the parser's head buffer.
type receiver struct {
	p    *parser.Parser
	cur  *Request
	held int // a head arriving, or input left unread behind a fence, counted against Config.Memory (hold)
}

// count sets what rx counts against m to n bytes.
func (rx *receiver) count(m *buffers.Memory, n int) {
	if n > rx.held {
		m.Hold(n - rx.held)
	} else {
		m.Release(rx.held - n)
	}
	rx.held = n
}

// receiving is the request being received, if any. Loop only.
func (ch *Channel) receiving() *Request {
	if ch.rx == nil {
		return nil
	}
	return ch.rx.cur
}

// extra is the state of a worker waiting on the loop for something other
// than a request: room in the output, or the socket itself. Few
// connections ever need it.
type extra struct {
	room chan struct{} // made by a paused writer, closed when output drains or the connection goes
	// everyPump: the paused writer waits for a descriptor as well as for
	// room (Config.Files), which another connection may give back at any
	// time, so every pump wakes it, not only one that moved output.
	everyPump bool
	hijack    *hijack
	conn      *connTracked // set in Init for Config.ConnState or ConnValue; never changes
}

// Init readies a zero Channel for a freshly accepted connection. The
// caller allocates it as part of a structure of its own: the loop keeps
// each channel in one object with gnet's Conn, and conn is that object.
// site is shared by the connections to its address, and its Config must
// have been through WithDefaults.
func (ch *Channel) Init(site *Site, conn Conn) {
	ch.site, ch.conn = site, conn
	ch.lastActive.Mark()
	if site.tracks() {
		ch.track()
	}
}

// RemoteAddr is the client's address. Loop only: see Conn.RemoteAddr.
func (ch *Channel) RemoteAddr() net.Addr { return ch.conn.RemoteAddr() }

// remote is the client's address for a log line, formatted now: a
// handler may format a record later, on another goroutine. Loop only.
func (ch *Channel) remote() string {
	if a := ch.conn.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// LocalAddr is the address the client connected to.
func (ch *Channel) LocalAddr() net.Addr { return ch.site.Local }

// socket is the channel's Conn, for the goroutine-safe calls (Wake,
// Close) from goroutines other than the one driving the channel: Outlive
// may replace it meanwhile.
func (ch *Channel) socket() Conn {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.conn
}
