package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of SlowReadConfig.
const (
	slowReadPath   = "/"
	slowReadChunk  = 4096
	slowReadEvery  = 100 * time.Millisecond
	slowReadRcvBuf = 16384
	// slowReadMSS is a real network's MSS. On loopback the MSS is 64 KiB,
	// and Linux sizes a connection's initial send buffer from it (about
	// 4 MB), so a server could drop a 1 MiB response into the kernel and
	// never wait for the slow reader; with 1460 the send buffer starts
	// near 300 KB, as it would for a client on the internet
	// (TestSegmentSizeBoundsWhatTheKernelTakes: a net/http handler
	// writing to a reader that took nothing got 3.9 MB into the kernel
	// with loopback's MSS, 311 KB with 1460).
	slowReadMSS = 1460
)

// SlowReadConfig shapes SlowReaders' clients; zero fields take the defaults.
type SlowReadConfig struct {
	Path   string        // request target, default "/"
	Chunk  int           // most bytes taken from the socket per read, default 4096
	Every  time.Duration // pause before each read, default 100ms (so 40 KB/s by default)
	RcvBuf int           // SO_RCVBUF set before connecting, default 16384
	MSS    int           // TCP_MAXSEG set before connecting (unix only), default 1460; negative: leave the kernel's
}

// SlowReadResult counts the slow readers when they were stopped.
type SlowReadResult struct {
	Opened         int   // connections established
	Answered       int   // of those, clients that had received a whole response head (any status) by then
	Bytes          int64 // bytes received over all clients, heads and bodies
	Finished       int   // clients that read their whole response (its Content-Length)
	ClosedByServer int   // clients whose connection the server closed or reset before their response ended
	StillOpen      int   // Opened - Finished - ClosedByServer
}

// SlowReaders opens n connections to addr whose clients each send one
// request, "GET <Path> HTTP/1.1\r\nHost: bench\r\n\r\n", and then read
// the response slowly: before every read they pause cfg.Every, and a read
// takes at most cfg.Chunk bytes from the socket. With a small receive
// buffer (cfg.RcvBuf) and a real network's MSS (cfg.MSS) the server's
// writes of a large response soon wait for the client, and keep waiting:
// every read lets the server write a little more, so a timeout that only
// measures inactivity never fires; a limit on the time to write a
// response (net/http's WriteTimeout), on a connection's lifetime, or a
// minimum rate does.
//
// A client looks at its response head only for Content-Length. Once it
// has read that much body it is finished and closes its connection; a
// response without one (chunked, or delimited by the close) is read until
// the server closes, which finishes it too. The end of the stream before
// the body ended, or a reset, counts the client as closed by the server.
// There is no second request, and the status does not matter.
//
// SlowReaders returns once every dial has finished (up to 128 at a time,
// each for at most 10s); it returns an error for an empty addr, n < 1, a
// negative cfg.Chunk, cfg.Every or cfg.RcvBuf, or when no connection could
// be opened. Connections that could not be opened are left out of
// SlowReadResult.Opened.
//
// stop must be called, once the scenario is over, to release everything:
// it stops the clients, waits for them, closes their connections and
// returns the counts, which are what each client had read by then: a
// close still behind unread data in a client's receive buffer is not
// counted. Calling it again returns the same counts. If ctx ends first the
// clients stop reading then, and their connections stay open until stop.
func SlowReaders(ctx context.Context, addr string, n int, cfg SlowReadConfig) (stop func() SlowReadResult, err error) {
	s, err := startSlowReaders(ctx, addr, n, cfg)
	if err != nil {
		return nil, err
	}
	return s.stop, nil
}

// startSlowReaders is SlowReaders, returning the whole set so that tests
// can watch the clients' progress.
func startSlowReaders(ctx context.Context, addr string, n int, cfg SlowReadConfig) (*slowReadSet, error) {
	switch {
	case addr == "":
		return nil, errors.New("load: SlowReaders: empty address")
	case n < 1:
		return nil, fmt.Errorf("load: SlowReaders: n is %d, need at least 1", n)
	case cfg.Chunk < 0:
		return nil, fmt.Errorf("load: SlowReaders: Chunk is %d, need a positive size or 0 for the default", cfg.Chunk)
	case cfg.Every < 0:
		return nil, fmt.Errorf("load: SlowReaders: Every is %v, need a positive pause or 0 for the default", cfg.Every)
	case cfg.RcvBuf < 0:
		return nil, fmt.Errorf("load: SlowReaders: RcvBuf is %d, need a positive size or 0 for the default", cfg.RcvBuf)
	}
	cfg = cfg.withDefaults()
	s := &slowReadSet{
		clients: make([]slowReader, n),
		req:     []byte("GET " + cfg.Path + " HTTP/1.1\r\nHost: " + DefaultHost + "\r\n\r\n"),
		chunk:   cfg.Chunk,
		every:   cfg.Every,
		rcvBuf:  cfg.RcvBuf,
		control: slowReadControl(cfg.RcvBuf, cfg.MSS),
		dialers: make(chan struct{}, slowDialers),
		done:    make(chan struct{}),
	}
	var dialed sync.WaitGroup
	dialed.Add(n)
	for i := range s.clients {
		s.wg.Go(func() { s.clients[i].run(ctx, s, addr, &dialed) })
	}
	dialed.Wait()
	s.stop = stopOnce(ctx, s.interrupt, s.finish)
	if s.opened.Load() == 0 {
		s.stop()
		return nil, noConnection("SlowReaders", addr, &s.firstErr)
	}
	return s, nil
}

func (c SlowReadConfig) withDefaults() SlowReadConfig {
	if c.Path == "" {
		c.Path = slowReadPath
	}
	if c.Chunk == 0 {
		c.Chunk = slowReadChunk
	}
	if c.Every == 0 {
		c.Every = slowReadEvery
	}
	if c.RcvBuf == 0 {
		c.RcvBuf = slowReadRcvBuf
	}
	if c.MSS == 0 {
		c.MSS = slowReadMSS
	}
	return c
}

// slowReadSet is the state of one SlowReaders call.
type slowReadSet struct {
	clients  []slowReader
	req      []byte
	chunk    int
	every    time.Duration
	rcvBuf   int
	control  func(network, address string, c syscall.RawConn) error // nil: set rcvBuf after connecting
	dialers  chan struct{}                                          // a token per dial in progress
	done     chan struct{}                                          // closed by interrupt, to end every pause
	stop     func() SlowReadResult
	wg       sync.WaitGroup
	stopping atomic.Bool
	opened   atomic.Int64
	firstErr atomic.Pointer[error]
}

// A slow reader's outcome.
const (
	slowReadOpen int32 = iota
	slowReadFinished
	slowReadClosed // by the server, before the response ended
)

// slowReader is one connection. Its fields other than the atomics belong
// to its goroutine; the atomics let the counts be taken while it runs.
type slowReader struct {
	conn     atomic.Pointer[net.TCPConn]
	bytes    atomic.Int64 // received, head and body
	answered atomic.Bool  // the response head is complete
	outcome  atomic.Int32 // slowReadOpen until the client's story ends
	head     slowReadHead
	body     int64 // body bytes received
}

// interrupt stops every client. It sets stopping before it looks at the
// connections, and a client stores its connection before its first pause
// and checks stopping after each: so either the client sees stopping, or
// interrupt sees the connection and its deadline ends the client's read.
func (s *slowReadSet) interrupt() {
	if s.stopping.Swap(true) {
		return
	}
	close(s.done)
	for i := range s.clients {
		if c := s.clients[i].conn.Load(); c != nil {
			_ = c.SetDeadline(aLongTimeAgo)
		}
	}
}

// finish stops the clients, waits for them, counts and closes.
func (s *slowReadSet) finish() SlowReadResult {
	s.interrupt()
	s.wg.Wait()
	r := s.count()
	for i := range s.clients {
		if c := s.clients[i].conn.Load(); c != nil {
			_ = c.Close()
		}
	}
	return r
}

// count takes the counts as they are now.
func (s *slowReadSet) count() SlowReadResult {
	var r SlowReadResult
	for i := range s.clients {
		c := &s.clients[i]
		if c.conn.Load() == nil {
			continue
		}
		r.Opened++
		if c.answered.Load() {
			r.Answered++
		}
		r.Bytes += c.bytes.Load()
		switch c.outcome.Load() {
		case slowReadFinished:
			r.Finished++
		case slowReadClosed:
			r.ClosedByServer++
		}
	}
	r.StillOpen = r.Opened - r.Finished - r.ClosedByServer
	return r
}

func (c *slowReader) run(ctx context.Context, s *slowReadSet, addr string, dialed *sync.WaitGroup) {
	tc := slowDial(ctx, addr, s.control, s.dialers, &s.firstErr)
	if tc == nil {
		dialed.Done()
		return
	}
	if s.control == nil {
		// Too late for the window scale the SYN announced, but it still
		// bounds what the kernel holds for the client.
		_ = tc.SetReadBuffer(s.rcvBuf)
	}
	c.conn.Store(tc)
	s.opened.Add(1)
	dialed.Done()

	if _, err := tc.Write(s.req); err != nil {
		c.failed(tc, err)
		return
	}
	buf := make([]byte, s.chunk)
	pause := time.NewTimer(s.every)
	defer pause.Stop()
	for {
		select {
		case <-pause.C:
		case <-s.done:
			return
		}
		if s.stopping.Load() {
			return // both were ready, and select picked the pause
		}
		n, err := tc.Read(buf)
		if n > 0 && c.took(buf[:n]) {
			c.end(tc, slowReadFinished)
			return
		}
		if err != nil {
			c.failed(tc, err)
			return
		}
		pause.Reset(s.every)
	}
}

// took counts b and reports whether the response is complete.
func (c *slowReader) took(b []byte) bool {
	c.bytes.Add(int64(len(b)))
	if !c.head.done {
		b = b[c.head.feed(b):]
		if !c.head.done {
			return false
		}
		c.answered.Store(true)
	}
	c.body += int64(len(b))
	return c.head.length >= 0 && c.body >= c.head.length
}

// failed ends the client on a read or write error: a timeout is stop's
// interruption, which leaves the connection open; the end of the stream
// completes a response that has no length; anything else is the server
// closing or resetting the connection too early.
func (c *slowReader) failed(tc *net.TCPConn, err error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Interrupted: the client is still open.
	case errors.Is(err, io.EOF) && c.head.done && c.head.length < 0:
		c.end(tc, slowReadFinished)
	default:
		c.end(tc, slowReadClosed)
	}
}

// end records the outcome and closes the connection early, so that a big
// n does not keep sockets it no longer needs; finish closes it again,
// harmlessly.
func (c *slowReader) end(tc *net.TCPConn, outcome int32) {
	c.outcome.Store(outcome)
	_ = tc.Close()
}

// slowReadLine is how much of a head line slowReadHead keeps: enough for
// any Content-Length field.
const slowReadLine = 128

// slowReadHead finds the end of a response head, and its Content-Length,
// in whatever pieces the reads cut it into. It keeps only the start of
// the current line, so that a client allocates nothing for it.
type slowReadHead struct {
	line   [slowReadLine]byte
	n      int   // length of the current line so far, may exceed len(line)
	status bool  // the status line was read
	value  int64 // the last Content-Length field's value
	seen   bool  // a Content-Length field was seen
	bad    bool  // and it, or another one, was invalid or different
	done   bool  // the empty line that ends the head was read
	length int64 // once done: Content-Length, -1 if absent, invalid or contradicted
}

// feed consumes b up to the end of the head and returns how many bytes
// that was: len(b) unless the head ended inside b.
func (h *slowReadHead) feed(b []byte) int {
	for i, ch := range b {
		if ch != '\n' {
			if h.n < len(h.line) {
				h.line[h.n] = ch
			}
			h.n++
			continue
		}
		line, whole := h.line[:min(h.n, len(h.line))], h.n <= len(h.line)
		h.n = 0
		if whole {
			line = bytes.TrimSuffix(line, []byte{'\r'})
		}
		switch {
		case len(line) > 0 && !h.status:
			h.status = true
		case len(line) > 0:
			h.field(line, whole)
		case h.status:
			h.done, h.length = true, -1
			if h.seen && !h.bad {
				h.length = h.value
			}
			return i + 1
		default:
			// An empty line before the status line: ignored, as RFC 9112
			// allows.
		}
	}
	return len(b)
}

// field records a header line's Content-Length, if it is one; a line cut
// short by the buffer can only be an invalid one.
func (h *slowReadHead) field(line []byte, whole bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !equalFold(line[:colon], "content-length") {
		return
	}
	n, ok := parseDecimal(trimSpace(line[colon+1:]))
	if !ok || !whole || h.seen && n != h.value {
		h.bad = true
	}
	h.seen, h.value = true, n
}
