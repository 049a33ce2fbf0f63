package loop

import (
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxSweep bounds the connections a drain takes from one listener's queue
// (the kernel's backlog, somaxconn, is 4,096 by default).
const maxSweep = 4096

// sweepQueue accepts, without waiting, the connections the kernel has
// queued on ln. Their clients think themselves connected and may have
// sent their requests; closing the listener with them queued resets them
// unread when no other process holds the socket (the last process of a
// restart, a listener passed in), and a client cannot tell whether an
// unanswered request ran.
func sweepQueue(ln net.Listener, log *slog.Logger) []net.Conn {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var fds []int
	_ = rc.Control(func(fd uintptr) {
		if fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
			return // an accept would wait for a client; Go's listeners never do
		}
		for len(fds) < maxSweep {
			nfd, err := acceptNow(int(fd))
			switch {
			case err == nil:
				fds = append(fds, nfd)
			case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			default:
				return // EAGAIN: the queue is empty
			}
		}
	})
	conns := make([]net.Conn, 0, len(fds))
	for _, fd := range fds {
		f := os.NewFile(uintptr(fd), "queued")
		c, err := net.FileConn(f) // a duplicate, in Go's poller, as Accept's
		_ = f.Close()
		if err != nil {
			log.Error("carhop: cannot take a queued connection", "addr", ln.Addr().String(), "err", err)
			continue
		}
		conns = append(conns, c)
	}
	return conns
}

// acceptNow accepts one queued connection from the non-blocking listening
// socket fd, close-on-exec from the start: a graceful restart may be
// starting a process meanwhile.
func acceptNow(fd int) (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, _, err := unix.Accept(fd)
	if err == nil {
		unix.CloseOnExec(nfd)
	}
	return nfd, err
}
