package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// slowHead is what every slow client sends, one byte per interval, before
// it repeats slowFiller forever: a request head that never ends, whose one
// header value only grows.
const (
	slowHead   = "GET / HTTP/1.1\r\nHost: " + DefaultHost + "\r\nX-Slow: "
	slowFiller = 'a'
)

// slowDialTimeout bounds each slow client's dial; slowDialers bounds how
// many dial at once, so that a big n does not overflow the server's
// listen backlog with one burst of SYNs.
const (
	slowDialTimeout = 10 * time.Second
	slowDialers     = 128
)

// SlowResult counts the slow clients when they were stopped.
type SlowResult struct {
	Opened         int // connections established
	ClosedByServer int // of those, connections the server closed (or reset)
	StillOpen      int // Opened - ClosedByServer
}

// SlowClients opens n connections to addr, slowloris style: each sends a
// request head one byte every interval, starting as soon as it is
// connected, and never finishes it. The head is
// "GET / HTTP/1.1\r\nHost: bench\r\nX-Slow: " followed by an endless run
// of 'a', so the only ways a server gets rid of such a client are a limit
// on the time to read a head (net/http's ReadHeaderTimeout), on the size
// of a head, or on the connection's lifetime; a timeout that only measures
// inactivity never fires when interval is shorter than it. Anything the
// server answers is read and discarded.
//
// SlowClients returns once every dial has finished (up to 128 at a time,
// each for at most 10s); it returns an error for n < 1,
// interval <= 0, or when no connection could be opened. Connections that
// could not be opened (the server's backlog is full, or the process is
// out of file descriptors) are left out of SlowResult.Opened.
//
// stop must be called, once the scenario is over, to release everything:
// it stops the clients, checks which connections the server has closed,
// closes the rest and returns the counts. Calling it again returns the
// same counts. If ctx ends first the clients stop sending then, and their
// connections stay open until stop.
func SlowClients(ctx context.Context, addr string, n int, interval time.Duration) (stop func() SlowResult, err error) {
	switch {
	case addr == "":
		return nil, errors.New("load: SlowClients: empty address")
	case n < 1:
		return nil, fmt.Errorf("load: SlowClients: n is %d, need at least 1", n)
	case interval <= 0:
		return nil, fmt.Errorf("load: SlowClients: interval is %v, need a positive interval", interval)
	}
	s := &slowSet{clients: make([]slowClient, n), interval: interval, dialers: make(chan struct{}, slowDialers)}
	var dialed sync.WaitGroup
	dialed.Add(n)
	for i := range s.clients {
		s.wg.Go(func() { s.clients[i].run(ctx, s, addr, &dialed) })
	}
	dialed.Wait()
	stop = stopOnce(ctx, s.interrupt, s.finish)
	if s.opened.Load() == 0 {
		stop()
		return nil, noConnection("SlowClients", addr, &s.firstErr)
	}
	return stop, nil
}

// stopOnce returns a set's stop: interrupt runs when ctx ends, or at the
// latest when stop is first called, which then waits for it and returns
// what finish returns; later calls return the same.
func stopOnce[R any](ctx context.Context, interrupt func(), finish func() R) func() R {
	var callback sync.WaitGroup
	callback.Add(1)
	stopOnCancel := context.AfterFunc(ctx, func() {
		defer callback.Done()
		interrupt()
	})
	return sync.OnceValue(func() R {
		if stopOnCancel() {
			callback.Done() // it will never run
		}
		callback.Wait()
		return finish()
	})
}

// noConnection is the error of a set none of whose clients could connect.
func noConnection(fn, addr string, firstErr *atomic.Pointer[error]) error {
	dialErr := errors.New("no TCP connection")
	if p := firstErr.Load(); p != nil {
		dialErr = *p
	}
	return fmt.Errorf("load: %s: no connection to %s could be opened: %w", fn, addr, dialErr)
}

// slowSet is the state of one SlowClients call.
type slowSet struct {
	clients  []slowClient
	interval time.Duration
	dialers  chan struct{} // a token per dial in progress
	wg       sync.WaitGroup
	stopping atomic.Bool
	opened   atomic.Int64
	firstErr atomic.Pointer[error]
}

// slowClient is one connection; its goroutine owns closed until it exits.
type slowClient struct {
	conn   atomic.Pointer[net.TCPConn]
	closed bool // the server closed or reset the connection
}

// interrupt stops every client: see generator.stop for the ordering that
// makes it race-free.
func (s *slowSet) interrupt() {
	if s.stopping.Swap(true) {
		return
	}
	for i := range s.clients {
		if c := s.clients[i].conn.Load(); c != nil {
			_ = c.SetDeadline(aLongTimeAgo)
		}
	}
}

// finish stops the clients, waits for them, counts and closes.
func (s *slowSet) finish() SlowResult {
	s.interrupt()
	s.wg.Wait()
	var r SlowResult
	for i := range s.clients {
		c := s.clients[i].conn.Load()
		if c == nil {
			continue
		}
		r.Opened++
		if s.clients[i].closed || peerClosed(c) {
			r.ClosedByServer++
		}
		_ = c.Close()
	}
	r.StillOpen = r.Opened - r.ClosedByServer
	return r
}

// slowDial dials addr for one client of a set: holding one of dialers'
// tokens, for at most slowDialTimeout, with control setting the socket's
// options (nil: none). It returns nil when the dial failed, recording the
// first such error in firstErr.
func slowDial(ctx context.Context, addr string, control func(network, address string, c syscall.RawConn) error,
	dialers chan struct{}, firstErr *atomic.Pointer[error]) *net.TCPConn {
	d := net.Dialer{Timeout: slowDialTimeout, Control: control}
	dialers <- struct{}{}
	nc, err := d.DialContext(ctx, "tcp", addr)
	<-dialers
	if err != nil {
		firstErr.CompareAndSwap(nil, &err)
		return nil
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil
	}
	return tc
}

func (c *slowClient) run(ctx context.Context, s *slowSet, addr string, dialed *sync.WaitGroup) {
	tc := slowDial(ctx, addr, nil, s.dialers, &s.firstErr)
	if tc == nil {
		dialed.Done()
		return
	}
	c.conn.Store(tc)
	s.opened.Add(1)
	dialed.Done()

	var one [1]byte
	var sink [512]byte
	for sent := 0; ; {
		if err := tc.SetDeadline(time.Now().Add(s.interval)); err != nil || s.stopping.Load() {
			return
		}
		one[0] = slowFiller
		if sent < len(slowHead) {
			one[0] = slowHead[sent]
		}
		n, err := tc.Write(one[:])
		sent += n
		if err != nil {
			if c.serverGone(s, err) {
				return
			}
			continue // the server is not reading: try again next interval
		}
		// Wait out the interval in a read, which also notices the close,
		// and swallow anything the server says (a 408, a 400).
		for {
			if _, err := tc.Read(sink[:]); err != nil {
				if c.serverGone(s, err) {
					return
				}
				break
			}
		}
	}
}

// serverGone records err and reports whether the client must end: a
// timeout is the interval passing (or stop's interruption); anything else
// means the server closed or reset the connection.
func (c *slowClient) serverGone(s *slowSet, err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return s.stopping.Load()
	}
	if !s.stopping.Load() {
		c.closed = true
	}
	return true
}
