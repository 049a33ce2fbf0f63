package adapter

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"

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
	fd, unread, err := w.ch.Hijack(func() {
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
	c, err := fdConn(fd, unread)
	if err != nil {
		return nil, nil, err
	}
	return c, bufio.NewReadWriter(bufio.NewReader(c), bufio.NewWriter(c)), nil
}

var errHijackFailed = errors.New("carhop: hijack failed")

// fdConn wraps a file descriptor handed over by the event loop into a
// net.Conn that first returns the input the loop had already read.
func fdConn(fd int, unread []byte) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), "carhop-hijacked")
	c, err := net.FileConn(f)
	_ = f.Close() // FileConn dups the descriptor
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errHijackFailed, err)
	}
	if len(unread) == 0 {
		return c, nil
	}
	return &prefixConn{Conn: c, prefix: unread}, nil
}

// prefixConn is a net.Conn whose first reads return prefix.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
