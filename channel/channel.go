package channel

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

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
	// KeepAlive is the client's wish, from the parser.
	KeepAlive bool
	// Err is set for a refused request: no handler runs, the channel
	// answers it with Config.ErrorResponse and closes.
	Err *parser.Error

	next         *Request // the next request in the channel's ready queue
	wantContinue bool     // 100-continue is owed once this request is first in line
	upgrade      bool     // the client asked to switch protocols
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
	lastOut int32     // OutboundBuffered at the last pump, written by the loop under mu
	state   muFlags   // under mu
	lf      loopFlags // loop only
	idle    uint8     // pumps in a row that found output waiting and moved none of it (Poll); under mu
}

// receiver is what the loop needs while a request arrives: the parser,
// and the request it is filling once the head is complete. It goes back
// to a pool between requests, with the parser's head buffer.
type receiver struct {
	p   *parser.Parser
	cur *Request
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
	room   chan struct{} // made by a paused writer, closed when output drains or the connection goes
	hijack *hijack
	conn   *connTracked // set in Init for Config.ConnState or ConnValue; never changes
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

// Received parses newly arrived input (in holds every unconsumed byte) and
// returns how many bytes were consumed. Loop only.
func (ch *Channel) Received(in []byte) int {
	if is(ch.lf, detaching) {
		ch.collect(in)
		return len(in)
	}
	if is(ch.lf, refused|last) && !ch.fencedLast() {
		return ch.drop(in, 0) // nothing after a refused or final request is read, nor counts as activity
	}
	closing, late := ch.enter(len(in) > 0)
	if closing {
		return ch.drop(in, 0)
	}
	if ch.fencedLast() {
		return ch.unparsed(in, 0)
	}
	if len(in) > 0 {
		ch.lastActive.Mark()
	}
	if late && ch.reqStarted.Load() != 0 {
		ch.refuse(errRequestTimeout)
		return len(in)
	}
	if ch.rx == nil {
		if len(in) == 0 {
			return 0
		}
		ch.rx = ch.site.pools.receiver()
	}
	rx := ch.rx
	n := 0
	defer func() {
		// Between requests the parser goes back to the pool. Once
		// refused, rx is in the pool already (refuse): the check must
		// stop at refused, before it reads rx.
		clean := !is(ch.lf, refused|discarded) && rx.cur == nil && rx.p.Idle() // nothing read ahead
		between := clean && n == len(in)
		if between {
			ch.site.pools.putReceiver(rx)
			ch.rx = nil
		}
		ch.mu.Lock()
		put(&ch.state, loopIdle, between && !is(ch.lf, last|upgrading))
		if clean {
			put(&ch.state, readAhead, false)
		}
		ch.mu.Unlock()
	}()
	for !is(ch.lf, refused|last) {
		if rx.cur == nil && (is(ch.lf, upgrading) || ch.fenced()) {
			break // parse no further ahead; the input waits
		}
		k, ev, err := rx.p.Parse(in[n:])
		n += k
		if k > 0 && ev != parser.EventHead && ch.reqStarted.Load() == 0 {
			ch.reqStarted.Mark()
		}
		switch ev {
		case parser.EventNeedMore:
			return n
		case parser.EventHead:
			ch.reqStarted.Clear()
			ch.startRequest()
		case parser.EventBody:
			if _, err := rx.cur.Body.Write(rx.p.Body()); err != nil {
				ch.site.Logger.Error("carhop: cannot buffer request body", "remote", ch.remote(), "err", err)
				ch.refuse(errSpill)
			}
		case parser.EventDone:
			// The body's clock stops here; left running it would answer
			// 408 on a keep-alive connection merely idle after the request.
			ch.reqStarted.Clear()
			ch.complete()
		case parser.EventError:
			ch.refuse(err)
		}
	}
	if is(ch.lf, refused|last) && !ch.fencedLast() {
		return ch.drop(in, n)
	}
	return ch.unparsed(in, n)
}

// drop consumes in past the n bytes parsed, unread, and notes that input
// was dropped: a close then lingers (Pump).
func (ch *Channel) drop(in []byte, n int) int {
	if n < len(in) && !is(ch.lf, discarded) {
		put(&ch.lf, discarded, true)
		ch.mu.Lock()
		put(&ch.state, readAhead, true) // no hijacker may have what follows: it has a hole
		ch.mu.Unlock()
	}
	return len(in)
}

// fencedLast reports whether the last request the client will send
// (HTTP/1.0, or "Connection: close") is an Upgrade or a CONNECT: what
// follows it is no request to drop but the input of whoever hijacks the
// connection, and stays unread for it, as behind any fence.
func (ch *Channel) fencedLast() bool {
	return is(ch.lf, last) && is(ch.lf, upgrading) && !is(ch.lf, refused)
}

// unparsed returns n, the bytes of in consumed, and disconnects a client
// that leaves more than MaxUnparsed unread behind them.
func (ch *Channel) unparsed(in []byte, n int) int {
	if len(in)-n > ch.site.MaxUnparsed {
		ch.site.Logger.Warn("carhop: client pipelined too far ahead", "remote", ch.remote(), "unparsed", len(in)-n)
		_ = ch.conn.Close()
	}
	return n
}

var (
	errSpill          = &parser.Error{Status: 500, Reason: "cannot buffer request body"}
	errRequestTimeout = &parser.Error{Status: 408, Reason: "request timeout"}
	errBadHead        = &parser.Error{Status: 400, Reason: "bad request"}
)

// enter starts a Received: it reports whether a response asked to close
// the connection and whether the ticker found the request too slow
// (taking that news), and, when input arrived, marks the loop busy with
// it until Received ends. Marking it first, in the same critical section
// as the worker's sendNow, means no worker skips a wake-up the loop is
// about to wait for (a pipelining limit reached, a 100 Continue owed).
func (ch *Channel) enter(input bool) (closing, late bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if input {
		put(&ch.state, loopIdle, false)
	}
	late = is(ch.state, timedOut)
	put(&ch.state, timedOut, false)
	return is(ch.state, closeAfter), late
}

// fenced reports whether the loop must parse no further ahead, before the
// next request: MaxPipelined requests wait already, or a worker claimed
// the socket for a hijack, whose hijacker gets what follows unparsed.
// Otherwise it marks the loop as reading into a request, in the same
// critical section in which Hijack looks for one: either the hijack sees
// the loop's claim, or the loop sees the hijack's. Loop only.
func (ch *Channel) fenced() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if ch.hijacker() != nil || ch.queued() >= ch.site.MaxPipelined {
		return true
	}
	put(&ch.state, readAhead, true)
	return false
}

// queued counts complete requests not yet being served, up to
// MaxPipelined: all that the loop needs to know. The queue is that short,
// and a count of it would be another field in every Channel. Channel
// mutex held.
func (ch *Channel) queued() int {
	n := 0
	for r := ch.waiting(); r != nil && n < ch.site.MaxPipelined; r = r.next {
		n++
	}
	return n
}

func (ch *Channel) startRequest() {
	h := ch.rx.p.Request()
	r, err := ch.site.NewRequest(ch, h)
	if err != nil {
		var perr *parser.Error
		if !errors.As(err, &perr) {
			perr = errBadHead
		}
		ch.refuse(perr)
		return
	}
	r.KeepAlive, r.upgrade = h.KeepAlive, h.Upgrade
	if h.ContentLength != 0 {
		r.Body = buffers.New(ch.site.InbufOverflow, ch.site.TempDir)
	}
	ch.rx.cur = r
	ch.began()
	if h.ExpectContinue && h.ContentLength != 0 {
		r.wantContinue = true
		ch.sendContinue()
	}
}

// sendContinue sends the 100 Continue owed to the request being received
// once nothing is ahead of it, as Waitress does: a client waiting for it
// would otherwise see it in the middle of an earlier response.
func (ch *Channel) sendContinue() {
	r := ch.receiving()
	if r == nil || !r.wantContinue {
		return
	}
	ch.mu.Lock()
	idle := !is(ch.state, busy) && ch.head == nil && ch.outLen() == 0 && !is(ch.state, closeAfter)
	ch.mu.Unlock()
	if idle {
		r.wantContinue = false
		if _, err := ch.conn.Write(continueLine); err == nil {
			ch.site.Counters.BytesOut.Add(uint64(len(continueLine)))
			if pending := ch.conn.OutboundBuffered(); pending > 0 {
				// The socket is backed up and gnet holds part of the
				// line: no worker may write around gnet's buffer
				// (sendable) until a pump has seen it drain.
				ch.mu.Lock()
				ch.lastOut = int32(pending)
				ch.mu.Unlock()
				ch.site.Poll(ch, 0)
			}
		}
	}
}

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// complete queues the received request for a worker.
func (ch *Channel) complete() {
	r := ch.rx.cur
	ch.rx.cur = nil
	if r.Body != nil && r.Body.Spilled() {
		ch.site.Counters.SpilledBodies.Add(1)
	}
	if t := ch.rx.p.Request().Trailers; len(t) > 0 && ch.site.Trailers != nil {
		ch.site.Trailers(r, t)
	}
	if r.upgrade {
		put(&ch.lf, upgrading, true)
	}
	// The client said this is its last request (RFC 9112 §9.6). Stop here
	// rather than rely on Finish to drop what follows: a worker may finish
	// this request before the loop parses the next one, which would then
	// be queued behind a response that has already closed the exchange,
	// and run.
	put(&ch.lf, last, !r.KeepAlive)
	ch.enqueue(r)
}

func (ch *Channel) enqueue(r *Request) {
	ch.mu.Lock()
	put(&ch.state, readAhead, false) // the request is whole: a hijack finds it queued instead
	if is(ch.state, closeAfter) {
		// A response closed the exchange (Finish) while this Received was
		// parsing what followed its request: as after a client's last
		// request, nothing more runs or is read. Finish dropped what was
		// queued then; this one came too late for it.
		ch.mu.Unlock()
		put(&ch.lf, last, true)
		ch.release(r)
		return
	}
	ch.push(r)
	start := !is(ch.state, busy|closed)
	if start {
		put(&ch.state, busy, true)
	}
	ch.mu.Unlock()
	if start {
		put(&ch.lf, handed, true)
		ch.submit()
	}
}

// HandedOff reports whether the Received calls since the last HandedOff
// handed the channel to the pool, readying a worker: the loop yields to it
// then (loop/yield.go). Loop only.
func (ch *Channel) HandedOff() bool {
	h := is(ch.lf, handed)
	put(&ch.lf, handed, false)
	return h
}

func (ch *Channel) submit() {
	if err := ch.site.Submit(ch); err != nil {
		// The pool is shutting down: nobody will serve this connection.
		_ = ch.socket().Close()
	}
}

// socket is the channel's Conn, for the goroutine-safe calls (Wake,
// Close) from goroutines other than the one driving the channel: Outlive
// may replace it meanwhile.
func (ch *Channel) socket() Conn {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.conn
}

// refuse stops reading and queues the error response behind whatever is
// already queued, so responses stay in request order.
func (ch *Channel) refuse(err error) {
	var perr *parser.Error
	if !errors.As(err, &perr) {
		perr = errBadHead
	}
	put(&ch.lf, refused, true)
	ch.reqStarted.Clear()
	if r := ch.receiving(); r != nil {
		ch.release(r)
		ch.rx.cur = nil
	} else {
		ch.began() // the refused head; a refused body's head began already
	}
	if ch.rx != nil {
		// Nothing more is parsed here, and the connection may linger for
		// a while (and a 431's parser holds a head buffer at the limit):
		// the parser can serve another connection. Received, which may be
		// below us on the stack, touches its receiver no more once refused
		// is set (its deferred check stops at refused).
		ch.site.pools.putReceiver(ch.rx)
		ch.rx = nil
	}
	ch.site.Logger.Info("carhop: refused request", "remote", ch.remote(), "status", perr.Status, "reason", perr.Reason)
	ch.site.Counters.Refuse(perr.Status)
	ch.enqueue(&Request{Err: perr})
}

// Run serves the queued requests one after another, as Waitress's
// channel.service() does: the channel is its own task, and a worker that
// finishes a request with another queued behind it (pipelining) goes on
// with it rather than waking another worker for it. After MaxPipelined in
// a row it queues the channel again, so that one client cannot keep a
// worker from the others. Worker only.
func (ch *Channel) Run() {
	for served := 0; ; served++ {
		ch.mu.Lock()
		if is(ch.state, closed) || ch.head == nil {
			put(&ch.state, busy, false)
			ch.mu.Unlock()
			return
		}
		if served == ch.site.MaxPipelined {
			ch.mu.Unlock()
			ch.submit() // busy stays set: this is still the channel's one task
			return
		}
		r := ch.head // served in place: Finish takes it off the queue
		put(&ch.state, serving, true)
		inputEnded := is(ch.state, ended)
		ch.mu.Unlock()
		if inputEnded {
			ch.cancel(r) // as its client's context would have been at EOF (Outlive)
		}
		if r.Err != nil {
			_ = ch.Write(ch.site.ErrorResponse(r.Err.Status, r.Err.Reason), 0)
			ch.Finish(false)
		} else {
			ch.site.Counters.Requests.Add(1)
			ch.site.Serve(ch, r)
		}
		ch.mu.Lock()
		more := is(ch.state, again)
		put(&ch.state, again, false)
		ch.mu.Unlock()
		if !more {
			return
		}
	}
}

// Write appends response bytes to the output buffer. more is how many
// bytes the response will write after p, if the writer knows (a declared
// Content-Length), or -1. Write pauses while the buffer holds
// OutbufHighWatermark bytes or more, or while p would spill it to disk
// and spilling would not help (see mustWait), and fails with ErrClosed
// once the connection is gone. Worker only.
func (ch *Channel) Write(p []byte, more int64) error { return ch.WriteBy(p, more, time.Time{}) }

// WriteBy is Write with a deadline, unless it is zero: a Write that would
// pause past it gives up then and returns os.ErrDeadlineExceeded, having
// buffered nothing of p (http.ResponseController's SetWriteDeadline).
func (ch *Channel) WriteBy(p []byte, more int64, deadline time.Time) error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	for {
		wait, now := ch.mustWait(len(p), more)
		if !wait {
			break
		}
		if now {
			ch.wakeLocked()
		}
		// A channel rather than a sync.Cond: pausing is rare, and an idle
		// connection should not carry a Cond's 48 bytes.
		if ch.x == nil {
			ch.x = &extra{}
		}
		if ch.x.room == nil {
			ch.x.room = make(chan struct{})
		}
		room := ch.x.room
		backoff := int(ch.idle)
		ch.mu.Unlock()
		if !now {
			// The loop's next poll pumps, and wakes us if output moved:
			// a wake-up now would find the socket still full, and the
			// two goroutines would spin.
			ch.site.Poll(ch, backoff)
		}
		roomCame := waitFor(room, deadline)
		ch.mu.Lock()
		if !roomCame {
			return os.ErrDeadlineExceeded
		}
	}
	if is(ch.state, closed) {
		return ErrClosed
	}
	// A pump's worth of output is sent at once, as the loop would be woken
	// to: by the worker itself when it may (writeThrough), which spares
	// copying it into the buffer and the loop's round trip.
	full := ch.outLen()+int64(len(p)) >= int64(ch.site.SendBytes)
	if full {
		if p = p[ch.writeThrough(p):]; len(p) == 0 {
			return nil
		}
	}
	if ch.out == nil {
		ch.out = ch.site.pools.output()
	}
	if _, err := ch.out.Write(p); err != nil {
		return fmt.Errorf("carhop: buffering response: %w", err)
	}
	if full {
		ch.wakeLocked()
	}
	return nil
}

// waitFor waits for room to be closed, or until deadline unless it is
// zero, and reports whether room came first.
func waitFor(room <-chan struct{}, deadline time.Time) bool {
	if deadline.IsZero() {
		<-room
		return true
	}
	left := time.Until(deadline)
	if left <= 0 {
		return false
	}
	t := time.NewTimer(left)
	defer t.Stop()
	select {
	case <-room:
		return true
	case <-t.C:
		return false
	}
}

// mustWait reports whether a Write of n bytes, with more to follow (-1:
// unknown), waits for the loop to send some output first, and whether it
// needs a pump now rather than at the loop's next poll. Called with mu
// held.
//
// At the high watermark it always waits. Below it, output past
// OutbufOverflow goes to a temporary file so that a slow client does not
// hold the worker (Waitress's outbuf_overflow), but a handler that writes
// fast usually gets ahead of a fast client too, only because the loop
// has not pumped yet; spilling then writes and reads every byte of the
// rest of the response through the disk (43 % of the CPU of a 512 MiB
// download, at half net/http's speed). So the writer waits for the pump
// instead, as long as the socket took everything the last pump offered
// (lastOut below SendBytes): the client is not the bottleneck. Once the
// socket backs up, the next pump wakes the writer, which spills. A write
// into an empty buffer never waits: nothing could make room for it.
//
// Spilling to a slow client frees the worker only if the rest of the
// response fits under the high watermark. When the writer has said that
// more is to come than that, it would be paused at the watermark anyway,
// so it waits here, with no more than OutbufOverflow in memory, until
// the rest fits, and spills only the rest: a long download to a slow
// client costs the disk its last OutbufHighWatermark bytes, not all of
// them, and takes no more of the worker's time.
func (ch *Channel) mustWait(n int, more int64) (wait, now bool) {
	if is(ch.state, closed) {
		return false, false
	}
	out := ch.outLen()
	if out >= ch.site.OutbufHighWatermark {
		return true, true
	}
	if out == 0 || out+int64(n) <= int64(ch.site.OutbufOverflow) || ch.out.Spilled() {
		return false, false
	}
	if int(ch.lastOut) < ch.site.SendBytes {
		return true, true
	}
	return more >= 0 && out+int64(n)+more > ch.site.OutbufHighWatermark, false
}

// Flush sends what has been written so far: itself when it may, as
// Finish does, or else by asking the loop. Worker only.
func (ch *Channel) Flush() error {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if is(ch.state, closed) {
		return ErrClosed
	}
	if !ch.sendNow() {
		ch.wakeLocked()
	}
	return nil
}

// Finish ends the response being served. keepAlive false closes the
// connection once the output is written, and drops requests pipelined
// behind this one. The next queued request, if any, is served next by
// the same worker (Run). Worker only, from Config.Serve.
func (ch *Channel) Finish(keepAlive bool) {
	ch.mu.Lock()
	var r *Request
	if is(ch.state, serving) {
		r = ch.pop()
		put(&ch.state, serving, false)
	}
	if !keepAlive {
		put(&ch.state, closeAfter, true)
	}
	var dropped *Request
	if is(ch.state, closeAfter) {
		dropped = ch.takeAll()
	}
	ch.answered()
	next := ch.head != nil && !is(ch.state, closed)
	put(&ch.state, busy, next)
	put(&ch.state, again, next) // Run serves it
	if !ch.sendNow() {
		ch.wakeLocked()
	}
	ch.mu.Unlock()
	if r != nil {
		ch.release(r)
	}
	for d := dropped; d != nil; d = d.next {
		ch.release(d)
	}
}

// sendNow writes a finished response to the socket from the worker, when
// nothing else needs the loop: it is the common case of a small response
// on a keep-alive connection, and it saves waking the loop (a task on
// gnet's queue, an eventfd write, an epoll round) only to make that one
// write. It reports false, leaving the rest to the loop, when the worker
// may not write (sendable) or the socket takes less than all. Channel
// mutex held.
func (ch *Channel) sendNow() bool {
	if ch.outLen() == 0 {
		return false
	}
	ch.writeThrough(nil)
	if ch.out.Len() > 0 {
		return false
	}
	if !is(ch.state, busy) {
		ch.dropOutput()
	}
	return true
}

// dropOutput returns the drained output buffer to its pool, counting it if
// it spilled: idle connections hold no output buffer. Channel mutex held.
func (ch *Channel) dropOutput() {
	if ch.out.HasSpilled() { // drained: its file is closed by now
		ch.site.Counters.SpilledOutputs.Add(1)
	}
	ch.site.pools.putOutput(ch.out)
	ch.out = nil
}

// writeThrough writes the buffered output and then p to the socket from
// the worker, in one system call, if the worker may (sendable) and the
// buffer is one piece of memory; it returns how much of p the socket
// took, and discards from the buffer what it took of that. Channel mutex
// held.
func (ch *Channel) writeThrough(p []byte) int {
	if !ch.sendable() {
		return 0
	}
	var pre []byte
	if ch.out != nil {
		pre, _ = ch.out.Peek(int(ch.out.Len()))
		if int64(len(pre)) < ch.out.Len() {
			return 0 // in pieces: the loop sends it
		}
	}
	n, _ := ch.conn.TryWrite(pre, p) // an error is the loop's to find and handle
	put(&ch.state, filled, n < len(pre)+len(p))
	if n == 0 {
		return 0
	}
	ch.site.Counters.BytesOut.Add(uint64(n))
	ch.lastActive.Mark()
	k := min(n, len(pre))
	if k > 0 {
		ch.out.Discard(k)
	}
	return n - k
}

// sendable reports whether a worker may write to the socket itself: the
// loop has no input or request in hand (it may write a 100 Continue),
// the socket layer holds none of the connection's output (order), and
// the connection is not closing, draining, closed, hijacked or past its
// input's end, nor its output in a file: the loop must then see the
// response finish, to close. Channel mutex held.
func (ch *Channel) sendable() bool {
	return is(ch.state, loopIdle) && ch.lastOut == 0 && !is(ch.state, closeAfter|draining|closed|hijacked|ended) &&
		ch.hijacker() == nil && (ch.out == nil || !ch.out.Spilled())
}

// push appends r to the ready queue, which is at most MaxPipelined long
// (plus one refusal). Channel mutex held.
func (ch *Channel) push(r *Request) {
	r.next = nil
	at := &ch.head
	for *at != nil {
		at = &(*at).next
	}
	*at = r
}

// pop takes the first request off the ready queue. Channel mutex held.
func (ch *Channel) pop() *Request {
	r := ch.head
	ch.head = r.next
	r.next = nil
	return r
}

// takeAll empties the ready queue of the requests no worker has taken
// and returns them, linked by next; one being served stays for Finish.
// Channel mutex held.
func (ch *Channel) takeAll() *Request {
	at := &ch.head
	if is(ch.state, serving) {
		at = &ch.head.next
	}
	r := *at
	*at = nil
	return r
}

// current is the request a worker is serving, if any. Channel mutex held.
func (ch *Channel) current() *Request {
	if is(ch.state, serving) {
		return ch.head
	}
	return nil
}

// waiting is the first request of the ready queue no worker has taken.
// Channel mutex held.
func (ch *Channel) waiting() *Request {
	if is(ch.state, serving) {
		return ch.head.next
	}
	return ch.head
}

// cancel tells Config.Cancel that r's client is gone. A refusal is the
// channel's own request, not one NewRequest made: there is nothing of the
// caller's to cancel, and its Value is nil.
func (ch *Channel) cancel(r *Request) {
	if r.Err == nil && ch.site.Cancel != nil {
		ch.site.Cancel(r)
	}
}

func (ch *Channel) release(r *Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

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
	moved := false
	for ch.outLen() > 0 {
		queued := ch.conn.OutboundBuffered()
		if queued >= ch.site.SendBytes {
			break
		}
		if queued == 0 {
			sent, blocked := ch.sendSpilled()
			if blocked {
				break
			}
			if sent {
				moved = true
				continue
			}
		}
		chunk, err := ch.out.Peek(ch.site.SendBytes)
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
	pending := ch.conn.OutboundBuffered()
	if moved || pending < int(ch.lastOut) {
		ch.lastActive.Mark()
	}
	ch.lastOut = int32(pending)
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
			ch.lastOut = int32(ch.site.SendBytes - 1) // still not 0: gnet holds output (sendable)
		}
	}
	left := ch.outLen()
	if left < ch.site.OutbufHighWatermark {
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
	case done:
		_ = ch.conn.Close()
	default:
		ch.sendContinue()
	}
}

// sendSpilled sends output from the temporary file it spilled to straight
// to the socket (sendfile), when that is where the queue starts: a slow client's download then costs no read of the file
// into memory and no copy through gnet. It reports whether it sent
// anything, and whether the socket is full. Any other failure is left to
// the usual path, whose write through gnet finds it and closes the
// connection. Loop only, mu held, gnet holding nothing of ours.
func (ch *Channel) sendSpilled() (sent, blocked bool) {
	f, off, n, ok := ch.out.FileFront()
	if !ok {
		return false, false
	}
	k, err := ch.conn.SendFile(f, off, n)
	if k > 0 {
		ch.site.Counters.BytesOut.Add(uint64(k))
		ch.out.Discard(k)
		return true, false
	}
	return false, errors.Is(err, syscall.EAGAIN)
}

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

// wakeWriter releases a worker paused in Write. Called with mu held.
func (ch *Channel) wakeWriter() {
	if ch.x != nil && ch.x.room != nil {
		close(ch.x.room)
		ch.x.room = nil
		if ch.x.hijack == nil && ch.x.conn == nil {
			ch.x = nil
		}
	}
}

func (ch *Channel) outLen() int64 {
	if ch.out == nil {
		return 0
	}
	return ch.out.Len()
}

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
		close(h.done)
	case h != nil && !handedOver:
		h.fd, h.err = -1, ErrClosed
		close(h.done)
	}
	if r := ch.receiving(); r != nil {
		ch.release(r)
		ch.rx.cur = nil
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
	ch.wakeLocked()
	ch.mu.Unlock()
}
