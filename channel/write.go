package channel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/carhop/carhop/channel/buffers"
)

// Endless is Write's more for a writer with no end in sight: a stream
// whose handler holds no worker (Config.Serve's release). Spilling
// output to disk, or running ahead of the client in memory, frees a
// worker, and such a writer holds none, so its output does not spill: it
// waits for its client with at most SendBytes (a pump's worth) in
// memory, as a net/http handler waits in Write. Only while the memory
// budget (Config.Memory) is spent does what passes buffers.MemoryFloor
// go to a temporary file, as any output's does.
const Endless int64 = 1 << 62

// Write appends response bytes to the output buffer. more is how many
// bytes the response will write after p, if the writer knows (a declared
// Content-Length), Endless, or -1. Write pauses while the buffer holds
// OutbufHighWatermark bytes or more (files queued with WriteFile aside:
// they are not held in memory or on our disk), while p would spill it to
// disk and spilling would not help (see mustWait), and while it would
// spill with no descriptor to spare (Config.Files); it fails with
// ErrClosed once the connection is gone. Worker only.
func (ch *Channel) Write(p []byte, more int64) error { return ch.WriteBy(p, more, time.Time{}) }

// WriteBy is Write with a deadline, unless it is zero: a Write that would
// pause past it gives up then and returns os.ErrDeadlineExceeded, having
// buffered nothing of p (http.ResponseController's SetWriteDeadline).
func (ch *Channel) WriteBy(p []byte, more int64, deadline time.Time) (err error) {
	var wake Conn
	ch.mu.Lock()
	defer ch.unlockAndAsk(&wake)
	wake, err = ch.write(p, more, deadline)
	return err
}

// write is WriteBy with the mutex held; it returns the Conn to wake once
// the mutex is free (claimWake), if any.
func (ch *Channel) write(p []byte, more int64, deadline time.Time) (Conn, error) {
	if err := ch.waitRoom(len(p), more, deadline); err != nil {
		return nil, err
	}
	if is(ch.state, closed) {
		return nil, ErrClosed
	}
	// A pump's worth of output is sent at once, as the loop would be woken
	// to: by the worker itself when it may (writeThrough), which spares
	// copying it into the buffer and the loop's round trip.
	full := ch.outLen()+int64(len(p)) >= int64(ch.site.SendBytes)
	if full {
		if p = p[ch.writeThrough(p):]; len(p) == 0 {
			return nil, nil
		}
	}
	if ch.out == nil {
		ch.out = ch.site.pools.output()
	}
	for {
		n, err := ch.out.Write(p)
		if err == nil {
			break
		}
		if !errors.Is(err, buffers.ErrNoDescriptor) {
			return nil, fmt.Errorf("carhop: buffering response: %w", err)
		}
		// No descriptor to spare for a temporary file (Config.Files): the
		// rest waits for the client in memory, as at the high watermark,
		// and the write tries again after each pump.
		p = p[n:]
		if ch.x == nil {
			ch.x = &extra{}
		}
		ch.x.everyPump = true
		err = ch.pause(false, deadline)
		if ch.x != nil {
			ch.x.everyPump = false
		}
		if err != nil {
			return nil, err
		}
		if is(ch.state, closed) {
			return nil, ErrClosed
		}
	}
	if full {
		return ch.claimWake(), nil
	}
	return nil, nil
}

// waitRoom pauses a write of n bytes while mustWait says so, up to the
// deadline unless it is zero (os.ErrDeadlineExceeded). Called with mu
// held, which it releases while it waits.
func (ch *Channel) waitRoom(n int, more int64, deadline time.Time) error {
	for {
		wait, now := ch.mustWait(n, more)
		if !wait {
			return nil
		}
		if err := ch.pause(now, deadline); err != nil {
			return err
		}
	}
}

// pause waits until a pump wakes the writer: one asked for now, or else
// the loop's next poll. Called with mu held, which it releases while it
// waits; os.ErrDeadlineExceeded if the deadline (unless zero) comes
// first.
func (ch *Channel) pause(now bool, deadline time.Time) error {
	var wake Conn
	if now {
		wake = ch.claimWake()
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
	ch.askLoop(wake)
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
	// A file queued with WriteFile costs neither memory nor disk of ours
	// while it waits: only what the buffer stores counts, so a response
	// pipelined behind a download, or a second file in one response, does
	// not hold its worker until the first file is nearly sent.
	out := ch.outStored()
	if out >= ch.site.OutbufHighWatermark {
		return true, true
	}
	allowed := int64(ch.site.OutbufOverflow)
	if more == Endless {
		// A stream holds no worker that running ahead of its client
		// would free: a pump's worth in memory keeps the socket fed.
		allowed = int64(ch.site.SendBytes)
	}
	if out == 0 || out+int64(n) <= allowed || ch.out.Spilled() {
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
	var wake Conn
	ch.mu.Lock()
	defer ch.unlockAndAsk(&wake)
	if is(ch.state, closed) {
		return ErrClosed
	}
	if !ch.sendNow() {
		wake = ch.claimWake()
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
	var wake Conn
	if !ch.sendNow() {
		wake = ch.claimWake()
	}
	ch.mu.Unlock()
	ch.askLoop(wake)
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

// outStored is outLen less the bytes of files queued with WriteFile.
func (ch *Channel) outStored() int64 {
	if ch.out == nil {
		return 0
	}
	return ch.out.Stored()
}

func (ch *Channel) outLen() int64 {
	if ch.out == nil {
		return 0
	}
	return ch.out.Len()
}
