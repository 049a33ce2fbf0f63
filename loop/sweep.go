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
// queued on ln, and hands each to take before it accepts the next (so
// that it holds no more descriptors than the intake's Accept does). Their
// clients think themselves connected and may have sent their requests;
// closing the listener with them queued resets them unread when no other
// process holds the socket (the last process of a restart, a listener
// passed in), and a client cannot tell whether an unanswered request ran.
func sweepQueue(ln net.Listener, log *slog.Logger, take func(net.Conn)) {
	sc, ok := ln.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	nonBlocking := false
	_ = rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonBlocking = err == nil && fl&unix.O_NONBLOCK != 0
	})
	if !nonBlocking {
		return // an accept would wait for the next client; Go's listeners never do
	}
	for range maxSweep {
		nfd, more := -1, false
		_ = rc.Control(func(fd uintptr) { nfd, more = acceptNow(int(fd)) })
		if !more {
			return
		}
		if nfd < 0 {
			continue // EINTR, ECONNABORTED: try again
		}
		f := os.NewFile(uintptr(nfd), "queued")
		c, err := net.FileConn(f) // a duplicate, in Go's poller, as Accept's
		_ = f.Close()
		if err != nil {
			log.Error("carhop: cannot take a queued connection", "addr", ln.Addr().String(), "err", err)
			continue
		}
		take(c)
	}
}

// acceptNow accepts one queued connection from the non-blocking
// listening socket fd, close-on-exec from the start (a graceful restart
// may be starting a process meanwhile). more is false when nothing is
// queued (EAGAIN) and on any other error; nfd is -1 for a failure worth
// another try.
func acceptNow(fd int) (nfd int, more bool) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	nfd, _, err := unix.Accept(fd)
	switch {
	case err == nil:
		unix.CloseOnExec(nfd)
		return nfd, true
	case errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
		return -1, true
	}
	return -1, false
}
