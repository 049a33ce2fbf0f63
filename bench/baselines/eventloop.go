package baselines

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"runtime"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// loop is one thread multiplexing every socket with epoll: the
// asynchronous design, on bare system calls so that nothing of Go's own
// netpoller or goroutine scheduling is in the way. Everything in it is
// owned by the loop's goroutine; workers, when there are any, only see
// requests and hand back bytes.
type loop struct {
	epfd, lfd, wakefd int
	conns             map[int]*econn
	rbuf              []byte // one read buffer for all connections
	wbuf              []byte // and one to build responses in
	events            []unix.EpollEvent
	pool              *workPool // nil: responses are made on the loop
	gen               int32     // tells apart connections that reuse a descriptor
}

// econn is a connection's state in the loop.
type econn struct {
	fd         int
	gen        int32
	r          reader
	out        []byte // response bytes the kernel has not taken yet: out[sent:]
	sent       int
	batch      []request // requests with the pool, reused from batch to batch
	busy       bool      // its batch is with the pool
	closing    bool      // the last response queued ends the connection
	eof        bool      // the client will send nothing more
	closed     bool
	registered bool
	events     uint32 // what epoll watches for it
}

// runLoop serves ln on an event loop until ctx ends; workers > 0 adds a
// pool that makes the responses.
func runLoop(ctx context.Context, ln *net.TCPListener, workers int) error {
	l := &loop{epfd: -1, wakefd: -1, conns: make(map[int]*econn),
		rbuf: make([]byte, 64<<10), events: make([]unix.EpollEvent, 256)}
	var err error
	l.lfd, err = rawDup(ln)
	// The loop works on its own duplicate; the original would otherwise
	// stay registered with Go's netpoller and wake it for every connection.
	_ = ln.Close()
	if err != nil {
		return err
	}
	defer l.closeAll()
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return os.NewSyscallError("epoll_create1", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return os.NewSyscallError("eventfd", err)
	}
	for _, fd := range []int{l.lfd, l.wakefd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return os.NewSyscallError("epoll_ctl", err)
		}
	}
	stop := whenDone(ctx, l.wake)
	defer stop()
	if workers > 0 {
		l.pool = newWorkPool(workers, l.wake)
		defer l.pool.stop()
	}
	// One thread for the loop, as in C: the design is a single thread
	// waiting in epoll_wait, not a goroutine the scheduler moves around.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return l.run(ctx)
}

func (l *loop) run(ctx context.Context) error {
	for {
		n, err := unix.EpollWait(l.epfd, l.events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return os.NewSyscallError("epoll_wait", err)
		}
		for _, ev := range l.events[:n] {
			switch fd := int(ev.Fd); fd {
			case l.lfd:
				l.accept()
			case l.wakefd:
				var b [8]byte
				_, _ = unix.Read(l.wakefd, b[:])
				if stopped(ctx) {
					return nil
				}
				if l.pool != nil {
					l.collect()
				}
			default:
				// A connection closed earlier in this batch may have left
				// its descriptor to one accepted since: its events are not
				// the new one's.
				if c := l.conns[fd]; c != nil && c.gen == ev.Pad {
					l.handle(c, ev.Events)
				}
			}
		}
	}
}

// wake makes epoll_wait return; any goroutine may call it.
func (l *loop) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(l.wakefd, one[:])
}

func (l *loop) accept() {
	for {
		fd, _, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		switch err {
		case nil:
		case unix.EINTR, unix.ECONNABORTED:
			continue
		default:
			// EAGAIN: the backlog is empty. EMFILE and the like: the
			// listener stays readable and the next epoll_wait retries,
			// busily; that is how the classic loop behaves at its limit.
			return
		}
		// Go sets TCP_NODELAY on every connection it accepts; without it
		// here, Nagle would delay responses and the comparison would lie.
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		l.gen++
		c := &econn{fd: fd, gen: l.gen}
		if !l.watch(c, unix.EPOLLIN) {
			_ = unix.Close(fd)
			continue
		}
		l.conns[fd] = c
	}
}

func (l *loop) handle(c *econn, events uint32) {
	// Error or hang-up in both directions: nobody is left to answer.
	if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		l.close(c)
		return
	}
	if events&unix.EPOLLOUT != 0 {
		if l.flush(c); c.closed {
			return
		}
	}
	if events&unix.EPOLLIN != 0 {
		n, err := unix.Read(c.fd, l.rbuf)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil:
			l.close(c)
			return
		case n == 0:
			c.eof = true
		default:
			c.r.feed(l.rbuf[:n])
		}
	}
	l.advance(c)
}

// advance answers what c's input holds, writes what it can, and decides
// what to wait for next.
func (l *loop) advance(c *econn) {
	// Responses are built in the loop's buffer and copied to the
	// connection's own only when the kernel leaves some: an idle
	// connection holds no buffer at all.
	shared := l.pool == nil && len(c.out) == 0
	if shared {
		c.out = l.wbuf[:0]
	}
	for !c.busy && !c.closing {
		req, ok := c.r.next()
		if !ok {
			break
		}
		if l.pool != nil {
			c.batch = append(c.batch, req)
			continue
		}
		c.out = appendResponse(c.out, req)
		c.closing = !req.keepAlive
	}
	// With a pool, a connection has one batch out at a time: every
	// complete request it had, served in order by one worker, as
	// Waitress's channel.service serves a channel's queue in one task.
	if len(c.batch) > 0 && !c.busy {
		c.busy = true
		l.pool.submit(job{c: c, reqs: c.batch})
	}
	c.r.release()
	if shared {
		l.wbuf = c.out[:0] // with whatever capacity it grew to
	}
	if l.flush(c); c.closed {
		return
	}
	if shared && c.sent < len(c.out) {
		c.out, c.sent = slices.Clone(c.out[c.sent:]), 0
	}
	pending := c.sent < len(c.out)
	if !pending && !c.busy && (c.closing || c.eof) {
		l.close(c)
		return
	}
	// Reading stops while output waits or the pool works: a client that
	// does not read its responses, or pipelines without end, gets no more
	// than one read of buffer.
	var want uint32
	switch {
	case pending:
		want = unix.EPOLLOUT
	case !c.busy && !c.closing && !c.eof:
		want = unix.EPOLLIN
	}
	if !l.watch(c, want) {
		l.close(c)
	}
}

// flush writes c's pending output until done or the kernel's buffer is
// full, in which case EPOLLOUT will say when to go on.
func (l *loop) flush(c *econn) {
	for c.sent < len(c.out) {
		n, err := unix.Write(c.fd, c.out[c.sent:])
		switch {
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			return
		case err != nil:
			l.close(c)
			return
		default:
			c.sent += n
		}
	}
	c.out, c.sent = nil, 0
}

// watch sets what epoll reports for c; false if it cannot.
func (l *loop) watch(c *econn, events uint32) bool {
	if c.registered && c.events == events {
		return true
	}
	op := unix.EPOLL_CTL_MOD
	if !c.registered {
		op = unix.EPOLL_CTL_ADD
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(c.fd), Pad: c.gen}
	if err := unix.EpollCtl(l.epfd, op, c.fd, &ev); err != nil {
		return false
	}
	c.registered, c.events = true, events
	return true
}

func (l *loop) close(c *econn) {
	c.closed = true
	delete(l.conns, c.fd)
	// Explicitly, not by close alone: a descriptor inherited for a moment
	// by a child being started elsewhere in the process would otherwise
	// keep it in the epoll set after close.
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	_ = unix.Close(c.fd)
}

// collect takes the pool's finished responses and sends them.
func (l *loop) collect() {
	done := l.pool.take()
	for _, r := range done {
		if c := r.c; !c.closed {
			c.busy = false
			c.batch = c.batch[:0]
			if len(c.out) == 0 {
				c.out = r.resp // the worker's, and nobody else's
			} else {
				c.out = append(c.out, r.resp...)
			}
			c.closing = !r.keepAlive
			l.advance(c)
		}
	}
	clear(done)
}

func (l *loop) closeAll() {
	for _, c := range l.conns {
		_ = unix.Close(c.fd)
	}
	clear(l.conns)
	for _, fd := range []int{l.lfd, l.wakefd, l.epfd} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
}

// rawDup duplicates the descriptor under sc, close-on-exec.
func rawDup(sc syscall.Conn) (int, error) {
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, os.NewSyscallError("fcntl", dupErr)
	}
	return fd, nil
}
