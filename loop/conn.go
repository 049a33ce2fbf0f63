package loop

import (
	"net"
	"os"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
)

// link is a connection as the loop holds it: its channel, and gnet's Conn,
// which the link adapts to channel.Conn and channel.Detacher. One object
// of 96 bytes: the channel's Conn is the link itself, not a 16-byte box
// around gnet's (an idle connection costs this and gnet's own state).
type link struct {
	ch channel.Channel
	c  gnet.Conn
}

func (k *link) Write(p []byte) (int, error) { return k.c.Write(p) }
func (k *link) OutboundBuffered() int       { return k.c.OutboundBuffered() }
func (k *link) Wake() error                 { return k.c.Wake(nil) }
func (k *link) Close() error                { return k.c.Close() }
func (k *link) CloseWrite() error           { return unix.Shutdown(k.c.Fd(), unix.SHUT_WR) }
func (k *link) RemoteAddr() net.Addr        { return k.c.RemoteAddr() }

// InputPending looks for input gnet holds or the socket has, without
// taking it: the loop reads it on its next read event.
func (k *link) InputPending() bool { return k.c.InboundBuffered() > 0 || inputPending(k.c.Fd()) }

// inputPending reports whether the socket fd holds bytes to read; an end
// of input or an error is none.
func inputPending(fd int) bool {
	var b [1]byte
	n, _, err := unix.Recvfrom(fd, b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return err == nil && n > 0
}

// TryWrite writes to the socket from a worker. The channel calls it with
// its mutex held, which keeps OnClose, and so gnet's close of the
// descriptor, from running meanwhile; gnet's outbound buffer is empty, so
// nothing written by the loop is overtaken.
func (k *link) TryWrite(pre, p []byte) (int, error) { return tryWrite(k.c.Fd(), pre, p) }

// SendFile sends from a spill file, on the loop, with gnet's outbound
// buffer empty; while the socket is backlogged it sends nothing and
// answers EAGAIN, as a full socket would.
func (k *link) SendFile(f *os.File, off int64, n int64) (int, error) {
	fd := k.c.Fd()
	if backlogged(fd) {
		return 0, unix.EAGAIN
	}
	return sendFile(fd, f, off, n)
}

// tryWrite writes pre and then p to the non-blocking socket fd, in one
// system call, as far as it takes them now.
func tryWrite(fd int, pre, p []byte) (int, error) {
	var n int
	var err error
	switch {
	case len(pre) == 0:
		n, err = unix.Write(fd, p)
	case len(p) == 0: // a finished response: writev would cost an allocation per request
		n, err = unix.Write(fd, pre)
	default:
		n, err = writev2(fd, pre, p)
	}
	if n < 0 {
		n = 0
	}
	return n, err
}

// sendFile sends up to n bytes of f from off to the non-blocking socket
// fd with sendfile(2), as far as it takes them now. The file's
// descriptor is used through Control, which leaves its mode alone (Fd
// would make it blocking, a no-op for a regular file, but not one to
// rely on).
func sendFile(fd int, f *os.File, off int64, n int64) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	sent, serr := 0, error(nil)
	if err := rc.Control(func(ffd uintptr) {
		sent, serr = unix.Sendfile(fd, int(ffd), &off, int(min(n, 1<<30)))
	}); err != nil {
		return 0, err
	}
	return max(sent, 0), serr
}

// Detach dups the socket for a hijacker, hands over the unconsumed input,
// and lets gnet close its own descriptor; the dup keeps the connection.
func (k *link) Detach() (int, []byte, error) {
	fd, err := k.c.Dup()
	if err != nil {
		return -1, nil, err
	}
	buf, _ := k.c.Next(-1)
	unread := append([]byte(nil), buf...)
	_ = k.c.Close()
	return fd, unread, nil
}
