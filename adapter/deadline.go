package adapter

import (
	"io"
	"math"
	"os"
	"sync/atomic"
	"time"
)

// The deadlines of http.ResponseController. net/http's are the
// connection's: a read or write still waiting on the network when its
// deadline passes fails, and the connection is broken. carhop's handlers
// never wait on the network to read (the body is buffered before they
// run) and wait to write only when the client reads slower than they
// write (backpressure), so each deadline bounds what can wait: a body read
// or a write after the deadline fails with os.ErrDeadlineExceeded, and a
// write paused for the client gives up when it passes. A failed write
// breaks the response: nothing more of it is sent, and the connection
// closes once what was sent before is out. A zero time clears a deadline.
// Two differences remain: a write after the deadline fails at once, where
// net/http's small writes land in its buffer and fail at the next flush;
// and once the handler has returned, the server ends its response (the
// last chunk, say) even if the write deadline has passed, where net/http
// would find its connection's deadline passed.
// Handlers written for net/http that clear the server's write timeout
// for a stream (SetWriteDeadline(time.Time{})) run unchanged.

// deadline is an optional point in time, set from any goroutine.
type deadline struct{ unixNano atomic.Int64 } // 0: none

func (d *deadline) set(t time.Time) {
	var n int64
	switch {
	case t.IsZero():
	case t.After(latest):
		n = math.MaxInt64 // beyond UnixNano's range: never, in effect
	case t.Before(earliest):
		n = 1 // passed as surely, and UnixNano may be out of range
	default:
		n = t.UnixNano()
	}
	d.unixNano.Store(n)
}

var latest, earliest = time.Unix(0, math.MaxInt64), time.Unix(0, 1)

// get returns the deadline, or the zero time if there is none.
func (d *deadline) get() time.Time {
	if n := d.unixNano.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (d *deadline) passed() bool {
	n := d.unixNano.Load()
	return n != 0 && time.Now().UnixNano() >= n
}

// SetWriteDeadline bounds the handler's writes and flushes
// (http.ResponseController).
func (w *response) SetWriteDeadline(t time.Time) error {
	w.writeDeadline.set(t)
	return nil
}

// SetReadDeadline bounds the handler's reads of r.Body
// (http.ResponseController).
func (w *response) SetReadDeadline(t time.Time) error {
	if w.readDeadline != nil { // without a body, r.Body is http.NoBody: nothing to bound
		w.readDeadline.set(t)
	}
	return nil
}

// EnableFullDuplex lets the handler read the body after it starts writing
// (http.ResponseController). With carhop it always can: the body was read
// whole before the handler ran.
func (w *response) EnableFullDuplex() error { return nil }

// body is r.Body for a request with one: the buffered body, whose reads
// fail once the read deadline has passed.
type body struct {
	rc       io.ReadCloser
	deadline deadline
}

func (b *body) Read(p []byte) (int, error) {
	if b.deadline.passed() {
		return 0, os.ErrDeadlineExceeded
	}
	return b.rc.Read(p)
}

// WriteTo keeps io.Copy from r.Body on the buffer's own WriteTo, which
// hands its memory to the writer without copying it first.
func (b *body) WriteTo(dst io.Writer) (int64, error) {
	if b.deadline.passed() {
		return 0, os.ErrDeadlineExceeded
	}
	if wt, ok := b.rc.(io.WriterTo); ok {
		return wt.WriteTo(dst)
	}
	return io.Copy(dst, b.rc)
}

func (b *body) Close() error { return b.rc.Close() }
