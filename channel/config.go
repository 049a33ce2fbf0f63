package channel

import (
	"log/slog"
	"net"
	"time"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// Config is the same for every channel of a server and read-only once
// the server runs; each Site holds a copy. Zero sizes take the defaults
// below.
type Config struct {
	// Limits are the parser's limits.
	Limits parser.Limits

	// InbufOverflow is how many body bytes of one request stay in memory
	// before the rest goes to a temporary file. Waitress inbuf_overflow.
	InbufOverflow int
	// OutbufOverflow is how many response bytes wait in memory before the
	// rest goes to a temporary file. Waitress outbuf_overflow.
	OutbufOverflow int
	// OutbufHighWatermark is how many response bytes may wait for a slow
	// client before the worker writing them is paused, files queued with
	// WriteFile aside. Waitress outbuf_high_watermark.
	OutbufHighWatermark int64
	// Files bounds the descriptors all channels hold beyond their
	// sockets, so that slow clients cannot take those the server needs to
	// accept connections: temporary files and file regions (WriteFile),
	// and one for each handler that left the worker pool (Leave); nil is
	// no bound. Past it a response's output waits in memory for its
	// client, a file is copied rather than queued, a body that needs a
	// file is refused with 503, and a handler keeps its worker.
	Files *buffers.Descriptors
	// Memory bounds the request-body and response bytes all channels
	// keep in memory at once, beyond buffers.MemoryFloor each, so that
	// many slow clients together cannot make the server hold what each
	// may alone; nil is no bound. Past it bodies and output spill to
	// temporary files as if past their overflow (Files permitting). What
	// the loop parses ahead of the request being served, the input it
	// leaves unread behind that, and a head still arriving count too:
	// past it a channel parses one request ahead, cuts off a client that
	// leaves more than 64 KiB unread, and answers 503 to a head that
	// passes 16 KiB before it ends.
	Memory *buffers.Memory
	// SendBytes is the most output the loop hands the socket layer per
	// connection at a time; the rest waits in the channel's own buffer,
	// which can spill to disk, rather than in gnet's, which cannot.
	SendBytes int
	// MaxPipelined is how many complete requests a channel parses ahead
	// of the one being served before it stops reading its input.
	MaxPipelined int
	// MaxUnparsed bounds the input a channel holds unparsed while it is
	// not reading (pipelining ahead of MaxPipelined); a client that sends
	// more is disconnected, and so is one that leaves more than 64 KiB
	// while Memory is spent.
	MaxUnparsed int
	// Linger is how long a connection closed after a refused request, or
	// closed while the client was still sending (linger), goes on reading
	// and discarding input once the response is out, so that the client
	// reads the response rather than a reset; it ends earlier when the
	// client closes. 0 closes at once.
	Linger time.Duration
	// TempDir is where spilled bodies and output go; "" means os.TempDir.
	TempDir string
	// Logger receives one record per refused request and per I/O failure.
	Logger *slog.Logger
	// Counters receive the channels' traffic counts; WithDefaults makes
	// one if it is nil.
	Counters *Counters

	// NewRequest turns a parsed request head into a Request carrying the
	// adapter's value; the adapter allocates it, so that one allocation
	// can hold the Request and the adapter's own per-request state. It
	// runs on the event loop as soon as the head is complete; an error
	// refuses the request (a *parser.Error chooses the status, any other
	// error means 400).
	NewRequest func(ch *Channel, head *parser.Request) (*Request, error)
	// Cancel, if set, is called once for a request whose client went away
	// before its handler finished, or that was queued and never run; only
	// for requests NewRequest made, never for refusals.
	Cancel func(r *Request)
	// Trailers is given the trailer fields of a chunked request when it
	// completes, on the event loop; they alias the parser's buffer.
	Trailers func(r *Request, trailers []parser.Header)
	// Serve runs one complete request on a worker goroutine and must end
	// by calling ch.Finish. release, nil unless the pool lets a task give
	// its worker's place away (RunReleasing), is for a request whose
	// handler will run as long as its client (a stream, a hijack), to
	// pass to ch.Leave; Serve reports whether Leave took it, so that the
	// requests behind go back to the pool rather than being served beside
	// it, and the descriptor Leave counted is given back.
	Serve func(ch *Channel, r *Request, release func()) (released bool)
	// ErrorResponse formats the complete response for a refused request,
	// including "Connection: close".
	ErrorResponse func(status int, reason string) []byte
	// Submit has a worker call t.Run (a *Channel, for its next request);
	// it must not block. task.Pool's SubmitTask.
	Submit func(t interface{ Run() }) error
	pools  *pools

	// Poll asks the loop to wake this channel again soon: it has output
	// the socket could not take yet, and gnet says nothing when it can.
	// backoff is how many pumps in a row found output waiting and moved
	// none of it (up to MaxBackoff; 0 always once the client has emptied
	// its socket between two pumps), so that the loop can wait longer for
	// a client that reads slowly; -1 says that the socket emptied since
	// the last pump, so that the client would be kept waiting by the
	// usual interval. The loop calls it, and a writer paused for the
	// socket; it must not block, and is never called with the channel's
	// mutex held.
	Poll func(ch *Channel, backoff int)

	// HandedOver, if set, is called on the loop when a connection has
	// been handed to a hijacker, and returns what whoever closes the
	// hijacked socket calls once it has (Hijack's release): until then
	// the connection holds its descriptor, and keeps its place under the
	// connection limit.
	HandedOver func() (release func())

	// ConnState, if set, is told each connection's state changes, as
	// net/http's Server.ConnState: StateNew, then StateActive and
	// StateIdle in turn, request by request, then StateHijacked or
	// StateClosed. It is called on the loop, or on the worker that
	// finished a request, with the channel's mutex held, so that one
	// connection's reports never overtake each other; it must return
	// quickly and must not call the channel back, except
	// ConnRemoteAddr, ConnValue, LocalAddr and Disconnect.
	ConnState func(ch *Channel, s ConnState)

	// ConnValue, if set, is called once per connection when it opens, on
	// the loop, before ConnState's StateNew; the channel keeps what it
	// returns for the connection's life (Channel.ConnValue). The adapter
	// makes net/http's per-connection context with it (ConnContext).
	ConnValue func(ch *Channel) any
}

// Site is what the connections to one local address share: the server's
// Config and the address the clients reached. A channel holds one
// pointer for both, where two would take it out of its size class
// (Channel); the loop makes one Site per address it has seen, which
// is a handful however many connections there are. Counters and pools
// are pointers, so every Site of a server shares them.
type Site struct {
	Config
	Local net.Addr // nil if unknown
}

// tracks reports whether channels keep a connTracked: what ConnState and
// ConnValue need.
func (c *Config) tracks() bool { return c.ConnState != nil || c.ConnValue != nil }

// MaxBackoff is the most Config.Poll's backoff says.
const MaxBackoff = 6

// Defaults for Config's sizes, chosen in docs/operations.md.
const (
	DefaultInbufOverflow       = 512 << 10
	DefaultOutbufOverflow      = 1 << 20
	DefaultOutbufHighWatermark = 16 << 20
	DefaultSendBytes           = 64 << 10
	DefaultMaxPipelined        = 16
	DefaultMaxUnparsed         = 1 << 20
)

// WithDefaults returns c with every zero size replaced by its default.
func (c Config) WithDefaults() Config {
	if c.InbufOverflow <= 0 {
		c.InbufOverflow = DefaultInbufOverflow
	}
	if c.OutbufOverflow <= 0 {
		c.OutbufOverflow = DefaultOutbufOverflow
	}
	if c.OutbufHighWatermark <= 0 {
		c.OutbufHighWatermark = DefaultOutbufHighWatermark
	}
	if c.SendBytes <= 0 {
		c.SendBytes = DefaultSendBytes
	}
	if c.MaxPipelined <= 0 {
		c.MaxPipelined = DefaultMaxPipelined
	}
	if c.MaxUnparsed <= 0 {
		c.MaxUnparsed = DefaultMaxUnparsed
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	c.Limits = parser.New(c.Limits).Limits()
	if c.Counters == nil {
		c.Counters = &Counters{}
	}
	c.pools = newPools(&c)
	return c
}

// Timeouts are checked by the loop's ticker through [Channel.Expire].
//
// They are kept to the millisecond in 32 bits per connection
// (clock.Stamp): a timeout of 49 days or more never fires.
type Timeouts struct {
	// Idle closes a connection with no request in progress after this
	// long without traffic. Waitress channel_timeout.
	Idle time.Duration
	// Request answers 408 and closes when a request has been arriving for
	// this long without being complete: a client that dribbles its head
	// or body never holds a connection slot longer than this.
	Request time.Duration
	// Write closes a connection whose output has not moved for this long.
	Write time.Duration
}
