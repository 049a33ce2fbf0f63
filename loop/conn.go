package loop

import (
	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// conn adapts a gnet.Conn to channel.Conn and channel.Detacher.
type conn struct{ c gnet.Conn }

func (k conn) Write(p []byte) (int, error) { return k.c.Write(p) }
func (k conn) OutboundBuffered() int       { return k.c.OutboundBuffered() }
func (k conn) Wake() error                 { return k.c.Wake(nil) }
func (k conn) Close() error                { return k.c.Close() }
func (k conn) CloseWrite() error           { return unix.Shutdown(k.c.Fd(), unix.SHUT_WR) }

// TryWrite writes to the socket from a worker. The channel calls it with
// its mutex held, which keeps OnClose, and so gnet's close of the
// descriptor, from running meanwhile; gnet's outbound buffer is empty, so
// nothing written by the loop is overtaken.
func (k conn) TryWrite(p []byte) (int, error) {
	n, err := unix.Write(k.c.Fd(), p)
	if n < 0 {
		n = 0
	}
	return n, err
}

// Detach dups the socket for a hijacker, hands over the unconsumed input,
// and lets gnet close its own descriptor; the dup keeps the connection.
func (k conn) Detach() (int, []byte, error) {
	fd, err := k.c.Dup()
	if err != nil {
		return -1, nil, err
	}
	buf, _ := k.c.Next(-1)
	unread := append([]byte(nil), buf...)
	_ = k.c.Close()
	return fd, unread, nil
}
