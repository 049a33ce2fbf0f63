package adapter

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"

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
	w.putBuffers()
	c, err := fdConn(fd, unread, release)
	if err != nil {
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

var errHijackFailed = errors.New("carhop: hijack failed")

// fdConn wraps a file descriptor handed over by the event loop into a
// net.Conn that first returns the input the loop had already read, and
// whose Close calls release: a hijacked connection keeps its place under
// the connection limit until it is closed (loop.Server's handedOver), or,
// should the hijacker drop it unclosed, until the garbage collector has
// closed it.
func fdConn(fd int, early []byte, release func()) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "carhop-hijacked")
	c, err := net.FileConn(f)
	_ = f.Close() // FileConn dups the descriptor
	if err != nil {
		release()
		return nil, fmt.Errorf("%w: %w", errHijackFailed, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		h := &hijackedTCP{TCPConn: tc, prefix: early, release: release}
		runtime.AddCleanup(h, func(release func()) { release() }, release)
		return h, nil
	}
	h := &hijackedConn{Conn: c, prefix: early, release: release}
	runtime.AddCleanup(h, func(release func()) { release() }, release)
	return h, nil
}

// hijackedTCP is a hijacked TCP connection. The methods of *net.TCPConn
// that it does not define are promoted (CloseWrite for tunnels,
// SetKeepAlive, SetLinger, SyscallConn, ReadFrom), so code that asks for
// them by interface finds them; only a type assertion to *net.TCPConn
// fails, where net/http would hand over the *net.TCPConn itself.
type hijackedTCP struct {
	*net.TCPConn
	prefix  unread
	release func()
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

func (c *hijackedTCP) Close() error {
	err := c.TCPConn.Close()
	c.release()
	return err
}

// hijackedConn is any other hijacked connection (a Unix socket's).
type hijackedConn struct {
	net.Conn
	prefix  unread
	release func()
}

func (c *hijackedConn) Read(p []byte) (int, error) {
	if n, ok := c.prefix.read(p); ok {
		return n, nil
	}
	return c.Conn.Read(p)
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

func (c *hijackedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
