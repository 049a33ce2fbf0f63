package soak

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// aLongTimeAgo is a deadline in the past: setting it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// conn is a client connection whose blocked I/O ends when the run's
// context does.
type conn struct {
	c    net.Conn // raw, or watched by the worker's wire when it has one
	raw  net.Conn // the TCP connection itself, for its socket options
	br   *bufio.Reader
	ctx  context.Context
	stop func() bool
	// closeSaid is whether the last response read said "Connection:
	// close": the connection ending after it leaves the requests behind
	// it unanswered, which is no truncation.
	closeSaid bool
}

// dial connects to addr. The response reader reads from r, or from the
// connection when r is nil; rcvbuf, when positive, is the socket's
// receive buffer, set before the connection so that the window the
// server sees is small from the start.
func dial(ctx context.Context, addr string, r io.Reader, rcvbuf int) (*conn, error) {
	d := net.Dialer{Timeout: opTimeout}
	if rcvbuf > 0 {
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errDial, err)
	}
	cn := &conn{c: c, raw: c, ctx: ctx}
	if w, ok := ctx.Value(wireKey{}).(*wire); ok {
		cn.c = &watched{Conn: c, w: w}
	}
	if r == nil {
		r = cn.c
	}
	cn.br = bufio.NewReaderSize(r, 16<<10)
	cn.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	return cn, nil
}

// dialArmed dials addr for one exchange on a connection of its own, its
// deadline opTimeout after start.
func dialArmed(ctx context.Context, addr string, start time.Time) (*conn, error) {
	c, err := dial(ctx, addr, nil, 0)
	if err != nil {
		return nil, err
	}
	if err := c.arm(start.Add(opTimeout)); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *conn) close() {
	c.stop()
	_ = c.c.Close()
}

// arm sets the connection's deadline to t, unless the run's context has
// ended: the context's own deadline in the past, set when it ended, must
// not be overwritten by a later one. Setting first and checking after
// makes that hold whichever runs first.
func (c *conn) arm(t time.Time) error {
	if err := c.c.SetDeadline(t); err != nil {
		return err
	}
	return c.ctx.Err()
}

// roundTrip writes req and reads the response head; the caller reads
// the body.
func (c *conn) roundTrip(req []byte) (*http.Response, error) {
	if err := c.arm(time.Now().Add(opTimeout)); err != nil {
		return nil, err
	}
	if _, err := c.c.Write(req); err != nil {
		return nil, err
	}
	return c.readResponse(nil)
}

// readResponse reads a response head, as http.ReadResponse, noting
// whether it said "Connection: close". The connection ending where the
// next response would begin, after one that did, is errUnanswered.
// (http.ReadResponse reports an end before the status line as
// io.ErrUnexpectedEOF, as it does one inside it: hence the Peek.)
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	if _, err := c.br.Peek(1); err != nil {
		if c.closeSaid && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			err = fmt.Errorf("%w: %w", errUnanswered, err)
		}
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return nil, err
	}
	c.closeSaid = resp.Close
	return resp, nil
}

// errStatus and errMismatch are the failures of a complete response;
// errUnanswered is a connection closed, after a response that said it
// would be, with requests sent on it unanswered; errDial is a connection
// not made.
var (
	errDial       = errors.New("connecting")
	errStatus     = errors.New("unexpected status")
	errMismatch   = errors.New("content mismatch")
	errUnanswered = errors.New("closed as announced, requests unanswered")
)

// statusFailure is the failure of a complete response whose status the
// kind did not expect (err says which): a 503 with Retry-After, the
// server declining for now, is ErrBusy.
func statusFailure(resp *http.Response, err error) outcome {
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
		return failure(ErrBusy, err)
	}
	return failure(ErrStatus, err)
}

// bodyOutcome reads resp's body, checks it against want and says what
// the exchange came to; latency runs from start.
func bodyOutcome(resp *http.Response, wantStatus int, want string, start time.Time) outcome {
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return checked(resp, wantStatus, err, string(body) == want, start)
}

// checked is the outcome of a response read to its end with readErr,
// whose content matched or not.
func checked(resp *http.Response, wantStatus int, readErr error, matched bool, start time.Time) outcome {
	switch {
	case resp.StatusCode != wantStatus:
		return statusFailure(resp, fmt.Errorf("%w: %s, want %d", errStatus, resp.Status, wantStatus))
	case readErr != nil:
		return failure(classify(readErr), readErr)
	case !matched:
		return failure(ErrMismatch, errMismatch)
	}
	return outcome{served: 1, latency: time.Since(start)}
}
