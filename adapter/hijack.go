package adapter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"weak"

	"github.com/valyala/bytebufferpool"

	"github.com/carhop/carhop/channel"
)

// ErrPipelined is the error http.Hijacker's Hijack returns, taking
// nothing, when the server has already read what the client sent behind
// the request being served (another request, part of one, or bytes after
// a request that said it was the last) and that request asked for no
// hijack: see the Hijack method of the response writer.
var ErrPipelined = channel.ErrPipelined

// Hijack hands the connection to the handler (http.Hijacker). Output
// already committed is delivered first. As with net/http, a status the
// handler has written goes out before the handover, and body bytes it
// has not flushed do not: coder/websocket writes its 101 that way, and
// forward proxies the 200 that opens a CONNECT tunnel. Unlike net/http,
// that head gets no Transfer-Encoding or Content-Length of the server's:
// the handler frames whatever it writes next, on its own connection.
//
// Unlike net/http, it fails with ErrPipelined when the request asked for
// no hijack (Upgrade, CONNECT) and carhop has already read what the
// client sent behind it (parsed ahead, or dropped after a last request):
// it hands over no stream with a hole in it. The response then goes on
// as usual.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	fd, unread, release, err := w.ch.Hijack(func() {
		if w.wroteHeader && !w.committed {
			if w.held != nil {
				bytebufferpool.Put(w.held)
				w.held = nil
			}
			w.handover = true
			w.commit(false, nil)
		}
	})
	if err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	w.leavePool()
	w.putBuffers()
	c, err := fdConn(fd, unread, release, w.s.hijacks.watch)
	if err != nil {
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

var errHijackFailed = errors.New("carhop: hijack failed")

// fdConn wraps a file descriptor handed over by the event loop into a
// net.Conn: the *net.TCPConn itself (or *net.UnixConn) when the loop had
// read nothing past the request, as net/http hands over, or else a
// wrapper whose reads return that input first. watch is given a test of
// whether the hijacker still holds the connection open, with release
// (loop.Server's handedOver): a hijacked connection keeps its place under
// the connection limit until it is closed or, dropped unclosed,
// collected.
func fdConn(fd int, early []byte, release func(), watch func(alive func() bool, release func())) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "carhop-hijacked")
	c, err := net.FileConn(f)
	_ = f.Close() // FileConn dups the descriptor
	if err != nil {
		release()
		return nil, fmt.Errorf("%w: %w", errHijackFailed, err)
	}
	var alive func() bool
	tc, isTCP := c.(*net.TCPConn)
	uc, isUnix := c.(*net.UnixConn)
	switch {
	case isTCP && len(early) == 0:
		alive = aliveTest(tc)
	case isUnix && len(early) == 0:
		alive = aliveTest(uc)
	case isTCP:
		h := &hijackedTCP{TCPConn: tc, prefix: early}
		c, alive = h, aliveTest(h)
	default:
		h := &hijackedConn{Conn: c, prefix: early}
		c, alive = h, aliveTest(h)
	}
	watch(alive, release)
	return c, nil
}

// aliveTest returns a test of whether c is still open. It holds c only
// weakly, so that a connection its hijacker dropped unclosed is collected
// (and its descriptor closed by the runtime) as it would be otherwise:
// the test then reports it gone.
func aliveTest[T any, P interface {
	*T
	syscall.Conn
}](c P) func() bool {
	w := weak.Make((*T)(c))
	return func() bool {
		c := w.Value()
		if c == nil {
			return false
		}
		rc, err := P(c).SyscallConn()
		// A closed connection refuses Control: its descriptor is gone.
		return err == nil && rc.Control(func(uintptr) {}) == nil
	}
}

// hijackedTCP is a hijacked TCP connection with input the loop had read
// before the hand-over. The methods of *net.TCPConn that it does not
// define are promoted (CloseWrite for tunnels, SetKeepAlive, SetLinger,
// SyscallConn, ReadFrom), so code that asks for them by interface finds
// them; only a type assertion to *net.TCPConn fails.
type hijackedTCP struct {
	*net.TCPConn
	prefix unread
}

func (c *hijackedTCP) Read(p []byte) (int, error) {
	if n, ok := c.prefix.read(p); ok {
		return n, nil
	}
	return c.TCPConn.Read(p)
}

// WriteTo serves io.Copy from the connection: the promoted one would read
// the socket and skip what the loop had read already.
func (c *hijackedTCP) WriteTo(w io.Writer) (int64, error) {
	var n int64
	if len(c.prefix) > 0 {
		k, err := w.Write(c.prefix)
		n += int64(k)
		c.prefix = c.prefix[k:]
		if err != nil {
			return n, err
		}
	}
	m, err := c.TCPConn.WriteTo(w)
	return n + m, err
}

// hijackedConn is any other hijacked connection with input read ahead (a
// Unix socket's).
type hijackedConn struct {
	net.Conn
	prefix unread
}

func (c *hijackedConn) Read(p []byte) (int, error) {
	if n, ok := c.prefix.read(p); ok {
		return n, nil
	}
	return c.Conn.Read(p)
}

// SyscallConn is the connection's own, if it has one.
func (c *hijackedConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errHijackFailed
	}
	return sc.SyscallConn()
}

// unread is the input the loop had read before the hand-over, which a
// hijacked connection's reads return first.
type unread []byte

// read copies from u into p and reports whether u had anything.
func (u *unread) read(p []byte) (int, bool) {
	if len(*u) == 0 {
		return 0, false
	}
	n := copy(p, *u)
	*u = (*u)[n:]
	return n, true
}

// hijacks are the connections handed to hijackers and still open, each
// with the release that gives its place under the connection limit back.
// The loop's sweep looks them over every CleanupInterval (sweep): a
// hijacker that closed one gets its place back within that, one that
// dropped it unclosed once the garbage collector has run.
type hijacks struct {
	mu   sync.Mutex
	list []hijackEntry
}

type hijackEntry struct {
	alive   func() bool
	release func()
}

func (h *hijacks) watch(alive func() bool, release func()) {
	h.mu.Lock()
	h.list = append(h.list, hijackEntry{alive, release})
	h.mu.Unlock()
}

// sweep releases the connections that are gone.
func (h *hijacks) sweep() {
	h.mu.Lock()
	var gone []func()
	kept := h.list[:0]
	for _, e := range h.list {
		if e.alive() {
			kept = append(kept, e)
		} else {
			gone = append(gone, e.release)
		}
	}
	clear(h.list[len(kept):])
	h.list = kept
	h.mu.Unlock()
	for _, release := range gone {
		release()
	}
}
