package adapter

import (
	"fmt"
	"net"
	"os"
)

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
