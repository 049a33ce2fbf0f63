package channel

import (
	"errors"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// Received parses newly arrived input (in holds every unconsumed byte) and
// returns how many bytes were consumed. Loop only.
func (ch *Channel) Received(in []byte) int {
	n := ch.receive(in)
	if is(ch.lf, refused) {
		return n // refused, cut off or closed: the receiver, and what it counted, went back
	}
	return ch.hold(in, n)
}

func (ch *Channel) receive(in []byte) int {
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
		return 0 // the hijacker's, if any (hold)
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
			// Parse no further ahead; the input waits. A parser between
			// requests lets the buffer of a large head before it go now
			// rather than at the next Parse; one in the middle of a head
			// (the budget was spent meanwhile) keeps it.
			if rx.p.Idle() {
				rx.p.Reset()
			}
			break
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
				if errors.Is(err, buffers.ErrNoDescriptor) {
					// Every descriptor carhop may spare is held by other
					// clients' files: this client is asked to come back.
					ch.site.Logger.Warn("carhop: no descriptor for a request body's temporary file", "remote", ch.remote(),
						"open_files", ch.site.Files.Open(), "file_limit", ch.site.Files.Limit())
					ch.refuse(errNoFile)
				} else {
					ch.site.Logger.Error("carhop: cannot buffer request body", "remote", ch.remote(), "err", err)
					ch.refuse(errSpill)
				}
			}
		case parser.EventDone:
			// The body's clock stops here; left running it would answer
			// 408 on a keep-alive connection merely idle after the request.
			ch.reqStarted.Clear()
			drained := n == len(in)
			ch.complete(drained)
			if drained {
				// Nothing follows: no parse of nothing, nor the mark of
				// reading on (fenced), which a worker's Hijack would take
				// meanwhile for input read past its request.
				return n
			}
		case parser.EventError:
			ch.refuse(err)
		}
	}
	if is(ch.lf, refused|last) && !ch.fencedLast() {
		return ch.drop(in, n)
	}
	return n
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

// hold counts against the memory budget what the receiver keeps of the
// client's input once Received is done with it: the part of a head
// received so far (or of a chunked body's trailer section, or of a
// chunk-size line), and input left unread behind a fence, which gnet goes
// on reading where a server reading one request at a time would leave it
// in the kernel. A thousand clients sending heads near MaxHeaderBytes
// slowly, or pipelining far ahead of a slow handler, would otherwise make
// the server hold a thousand times what each may. It returns the bytes of
// in consumed: n, or all of in once it refuses a head or trailer section
// past headFloor while the budget is spent (503), or cuts off a client
// that left more than MaxUnparsed unread, or more than unparsedFloor
// while the budget is spent. Loop only.
func (ch *Channel) hold(in []byte, n int) int {
	u := len(in) - n
	if ch.rx == nil {
		if u == 0 {
			return n
		}
		ch.rx = ch.site.pools.receiver() // input behind a last request's fence: it holds the count
	}
	rx := ch.rx
	// A head or trailers arriving leave nothing unread: u is 0 when
	// either is not, and the parser holds at most one of them.
	head, framing := rx.p.PartialHead(), rx.p.PartialFraming()
	rx.count(ch.site.Memory, u+head+framing)
	spent := (u > unparsedFloor || head+framing > headFloor) && ch.site.Memory.Spent()
	switch {
	case u > ch.site.MaxUnparsed || u > unparsedFloor && spent:
		ch.cutOff(u)
		return len(in)
	case head > headFloor && spent:
		ch.refuse(errHeadNoMemory)
		return len(in)
	case framing > headFloor && spent:
		ch.refuse(errTrailerNoMemory)
		return len(in)
	}
	return n
}

// headFloor is how much of a head a client may send while the memory
// budget is spent: the request line's own limit, and the largest buffer a
// parser keeps between requests. Heads that large are rare (NGINX takes
// no header line over 8 KiB by default); MaxHeaderBytes, 256 KiB, is for
// a server with memory to spare.
const headFloor = parser.DefaultMaxRequestLine

// unparsedFloor is what a client may leave unread behind a fence however
// spent the memory budget: one read of gnet's (its 64 KiB read buffer),
// so that a client is not cut off for sending the start of its next
// requests with the last one the loop parses ahead.
const unparsedFloor = 64 << 10

// cutOff disconnects a client that left too much input unread, and reads
// nothing more from it: gnet closes the connection after this callback,
// and what it reads meanwhile is dropped rather than kept. Loop only.
func (ch *Channel) cutOff(unread int) {
	ch.site.Logger.Warn("carhop: client pipelined too far ahead", "remote", ch.remote(), "unparsed", unread,
		"buffer_memory", ch.site.Memory.Held(), "buffer_memory_limit", ch.site.Memory.Limit())
	ch.site.Counters.CutOff.Add(1)
	ch.site.pools.putReceiver(ch.rx) // behind a fence: no request half received
	ch.rx = nil
	put(&ch.lf, refused, true)
	_ = ch.conn.Close()
}

var (
	errSpill           = &parser.Error{Status: 500, Reason: "cannot buffer request body"}
	errNoFile          = &parser.Error{Status: 503, Reason: "too busy to buffer request body"}
	errRequestTimeout  = &parser.Error{Status: 408, Reason: "request timeout"}
	errHeadNoMemory    = &parser.Error{Status: 503, Reason: "too busy to buffer a request head this large"}
	errTrailerNoMemory = &parser.Error{Status: 503, Reason: "too busy to buffer request trailers this large"}
	errBadHead         = &parser.Error{Status: 400, Reason: "bad request"}
)

// enter starts a Received: it reports whether a response asked to close
// the connection and whether the ticker found the request too slow
// (taking that news), and, when input arrived, marks the loop busy with
// it until Received ends. Marking it first, in the same critical section
// as the worker's sendNow, means no worker skips a wake-up the loop is
// about to wait for (a pipelining limit reached, a 100 Continue owed).
// For the same reason it ends the outstanding wake, if this is it: the
// fence decided below may rest on a request a worker is about to finish,
// and that worker's wake, deduplicated against this one, was lost, which
// left a pipelining client's input unread until the idle timeout.
func (ch *Channel) enter(input bool) (closing, late bool) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	put(&ch.state, woken, false)
	if input {
		put(&ch.state, loopIdle, false)
	}
	late = is(ch.state, timedOut)
	put(&ch.state, timedOut, false)
	return is(ch.state, closeAfter), late
}

// fenced reports whether the loop must parse no further ahead, before the
// next request: MaxPipelined requests wait already, or one does and the
// memory budget is spent (what is parsed ahead counts against it:
// enqueue), or a worker claimed the socket for a hijack, whose hijacker
// gets what follows unparsed.
// Otherwise it marks the loop as reading into a request, in the same
// critical section in which Hijack looks for one: either the hijack sees
// the loop's claim, or the loop sees the hijack's. Loop only.
func (ch *Channel) fenced() bool {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	q := ch.queued()
	if ch.hijacker() != nil || q >= ch.site.MaxPipelined || q > 0 && ch.site.Memory.Spent() {
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
		r.Body = buffers.NewBounded(ch.site.InbufOverflow, ch.site.TempDir, buffers.Bounds{Files: ch.site.Files, Memory: ch.site.Memory})
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
				ch.setLastOut(int32(pending))
				ch.mu.Unlock()
				ch.site.Poll(ch, 0)
			}
		}
	}
}

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// complete queues the received request for a worker.
func (ch *Channel) complete(drained bool) {
	r := ch.rx.cur
	ch.rx.cur = nil
	if r.Body != nil && r.Body.Spilled() {
		ch.site.Counters.SpilledBodies.Add(1)
	}
	cost := len(ch.rx.p.Request().Head) + requestCost
	if t := ch.rx.p.Request().Trailers; len(t) > 0 && ch.site.Trailers != nil {
		ch.site.Trailers(r, t)
		for _, f := range t { // the adapter copies them into r.Trailer
			cost += len(f.Name) + len(f.Value)
		}
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
	// With no input after it, the loop is between requests from here on,
	// as Received's end will record (loopIdle). Recorded now, before a
	// worker can start on the request: Queued, asked as its response is
	// framed, would otherwise take the loop's parse of nothing for a
	// request following, and write-through would wait for a pump.
	idle := drained && !is(ch.lf, refused|discarded|last|upgrading)
	ch.enqueue(r, cost, idle)
}

// requestCost is what a request costs in memory besides its head, its
// trailers and its body, as the adapter builds it: its state, header map
// and context, about 750 bytes for a small request (BenchmarkServe's
// B/op).
const requestCost = 1 << 10

// enqueue queues r for a worker. A request that waits behind another,
// parsed ahead of it, counts its cost (size) against the memory budget
// until a worker takes it (Run): a client pipelining heads of 256 KiB to
// a slow handler would otherwise make the server hold MaxPipelined of
// them, where a server reading one request at a time holds one. idle
// says no input follows r: the loop is between requests once r is queued.
func (ch *Channel) enqueue(r *Request, size int, idle bool) {
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
	if ch.head != nil && size > 0 {
		r.held = int32(size)
		ch.site.Memory.Hold(size)
	}
	ch.push(r)
	if idle {
		put(&ch.state, loopIdle, true)
	}
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
	ch.enqueue(&Request{Err: perr}, 0, false)
}
