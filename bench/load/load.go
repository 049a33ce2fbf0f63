package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for the zero values of Config's fields.
const (
	DefaultPath    = "/"
	DefaultHost    = "bench"
	DefaultTimeout = 10 * time.Second
)

// readBufferSize is each connection's response buffer; a response header
// line longer than this is counted as malformed.
const readBufferSize = 8 << 10

// Config describes one closed-loop run.
type Config struct {
	Addr        string        // "127.0.0.1:8080"
	Path        string        // default "/"
	Host        string        // Host header; default "bench"
	Requests    int           // total requests to send; if 0, run for Duration
	Duration    time.Duration // used when Requests == 0
	Concurrency int           // connections (closed loop: each sends its next request when the previous response is complete)
	KeepAlive   bool          // false: a new connection per request ("Connection: close")
	Timeout     time.Duration // per request (default 10s); a timeout counts as an error
}

// Result is what a run measured.
type Result struct {
	Requests int           // completed with a response
	Errors   int           // connect/read/write errors, timeouts, malformed responses
	Non2xx   int           // completed requests whose final status was not 2xx
	Elapsed  time.Duration // from the start of the run until the last connection finished
	// InFlight counts the requests a timed or cancelled run interrupted
	// at its stop: started, not yet answered. In a closed loop nearly
	// every connection has one, so by itself it says little.
	InFlight int
	// Unanswered counts those of InFlight that had by then waited longer
	// than any completed request took (Stats.Worst; any wait at all when
	// none completed): clients the server left waiting. A design that
	// serves a few connections and starves the rest (sequential, pools
	// smaller than the client count) shows low latencies for the few it
	// serves; this is the count of the others. UnansweredWait is the
	// longest of their waits, a lower bound on the latency they would
	// have had.
	Unanswered     int
	UnansweredWait time.Duration
	Latencies      []time.Duration // every completed request's latency, sorted ascending
	Stats          Stats           // Summarize(Latencies, Elapsed, Requests)
}

// errStopped ends a request that was about to start when the run stopped.
var errStopped = errors.New("load: run stopped")

// aLongTimeAgo is a deadline in the past: setting it interrupts blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// Stop reasons, first one wins.
const (
	running int32 = iota
	stoppedByDuration
	stoppedByContext
)

// Run sends cfg.Requests requests (or, with Requests 0, keeps sending for
// cfg.Duration) over cfg.Concurrency connections, each connection sending
// its next request as soon as the previous response is complete, and
// returns what it measured.
//
// Every request is counted exactly once in Result.Requests (a complete
// response arrived; Non2xx counts those whose status was not 2xx) or in
// Result.Errors (dial, write or read error, timeout, malformed or
// truncated response), so when the run is not cancelled
// Requests + Errors == cfg.Requests. Informational 1xx responses are
// skipped; the final response counts.
//
// A request's latency runs from the moment it is started, including the
// dial when it needs a new connection, until this process has read the
// last byte of the response body. So each connection's time is all
// latency, and mean latency × RPS ≈ Concurrency (Little's law); wrk, by
// contrast, leaves connection setup out. When the generator's CPU is
// saturated the latencies include the time a response waited to be read.
// (The very first connection is dialed by Run to check that something is
// listening, and the first request to need a connection uses it without
// a dial.)
//
// With KeepAlive a connection carries requests until the server frames a
// response with "Connection: close" or by closing, then the next request
// dials again. If a reused connection turns out to have been closed by the
// server while idle (the write fails, or the read ends before the first
// byte of the response), the request is retried once on a new connection
// and its latency includes both attempts. Without KeepAlive every request
// dials, sends "Connection: close", reads the response to its end and
// closes; a close before the response is complete is an error.
//
// In Duration mode, and when ctx ends, requests in flight at the stop are
// interrupted and counted neither as requests nor as errors but in
// Result.InFlight, and in Result.Unanswered when they had waited longer
// than every answered request.
//
// Run returns an error only for an invalid cfg, when the first connection
// cannot be made (nothing is listening), or when ctx ends before the run
// is complete; in the last case the partial Result is returned with
// ctx's error. Per-request failures are counted, never returned.
//
// Run does not set GOMAXPROCS or CPU affinity: the caller pins the
// process. It is designed to run on one CPU: one goroutine per
// connection, no allocation per request on a kept-alive connection.
func Run(ctx context.Context, cfg Config) (Result, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	raddr, err := net.ResolveTCPAddr("tcp", cfg.Addr)
	if err != nil {
		return Result{}, fmt.Errorf("load: address %q: %w", cfg.Addr, err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &generator{
		ctx:       runCtx,
		cancel:    cancel,
		addr:      raddr.String(),
		req:       buildRequest(cfg),
		keepAlive: cfg.KeepAlive,
		timeout:   cfg.Timeout,
		limited:   cfg.Requests > 0,
	}
	g.budget.Store(int64(cfg.Requests))

	start := time.Now()
	g.start = start
	// The first connection proves something is listening; the first
	// request that needs a connection takes it instead of dialing.
	first, err := g.dial(start.Add(cfg.Timeout))
	if err != nil {
		return Result{}, fmt.Errorf("load: cannot connect to %s: %w", cfg.Addr, err)
	}
	g.spare.Store(first)
	g.workers = make([]*worker, cfg.Concurrency)
	perWorker := initialCapacity(cfg)
	for i := range g.workers {
		g.workers[i] = &worker{g: g, lat: make([]time.Duration, 0, perWorker)}
	}

	// The callbacks that stop the run are waited for before Run returns,
	// so that none is left running behind it.
	var callbacks sync.WaitGroup
	var stopTimer func() bool
	if !g.limited {
		callbacks.Add(1)
		timer := time.AfterFunc(cfg.Duration-time.Since(start), func() {
			defer callbacks.Done()
			g.stop(stoppedByDuration)
		})
		stopTimer = timer.Stop
	}
	callbacks.Add(1)
	stopOnCancel := context.AfterFunc(ctx, func() {
		defer callbacks.Done()
		g.stop(stoppedByContext)
	})

	var wg sync.WaitGroup
	for _, w := range g.workers {
		wg.Go(w.run)
	}
	wg.Wait()
	elapsed := time.Since(start)
	if stopTimer != nil && stopTimer() {
		callbacks.Done() // it will never run
	}
	if stopOnCancel() {
		callbacks.Done()
	}
	callbacks.Wait()
	if c := g.spare.Swap(nil); c != nil {
		_ = c.Close()
	}

	res := g.result(elapsed)
	if g.reason.Load() == stoppedByContext && (!g.limited || res.Requests+res.Errors < cfg.Requests) {
		return res, ctx.Err()
	}
	return res, nil
}

// normalize applies defaults and validates.
func (c Config) normalize() (Config, error) {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Addr == "":
		return c, errors.New("load: Config.Addr is empty")
	case c.Concurrency < 1:
		return c, fmt.Errorf("load: Config.Concurrency is %d, need at least 1", c.Concurrency)
	case c.Requests < 0:
		return c, fmt.Errorf("load: Config.Requests is %d, need 0 (run for Duration) or more", c.Requests)
	case c.Requests == 0 && c.Duration <= 0:
		return c, errors.New("load: Config.Requests is 0 and Config.Duration is not positive")
	case c.Duration < 0:
		return c, fmt.Errorf("load: Config.Duration is negative (%v)", c.Duration)
	case c.Timeout < 0:
		return c, fmt.Errorf("load: Config.Timeout is negative (%v)", c.Timeout)
	case c.Path[0] != '/':
		return c, fmt.Errorf("load: Config.Path %q does not start with /", c.Path)
	case !isToken(c.Path):
		return c, fmt.Errorf("load: Config.Path %q contains spaces or control characters", c.Path)
	case !isToken(c.Host):
		return c, fmt.Errorf("load: Config.Host %q contains spaces or control characters", c.Host)
	}
	return c, nil
}

// isToken reports whether s has no spaces, control characters or DEL, so it
// can be written into a request head verbatim.
func isToken(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// buildRequest is the request head every request sends, built once.
func buildRequest(c Config) []byte {
	req := "GET " + c.Path + " HTTP/1.1\r\nHost: " + c.Host + "\r\n"
	if !c.KeepAlive {
		req += "Connection: close\r\n"
	}
	return []byte(req + "\r\n")
}

// initialCapacity is how many latencies each worker has room for before
// appending has to grow its slice: a fair share of Requests plus a quarter
// for uneven sharing, or a guess for Duration mode.
func initialCapacity(c Config) int {
	if c.Requests > 0 {
		share := c.Requests / c.Concurrency
		return min(c.Requests, share+share/4+16)
	}
	return 256
}

// generator is the state the workers of one run share.
type generator struct {
	ctx       context.Context // cancelled by stop: aborts dials
	cancel    context.CancelFunc
	addr      string // resolved "ip:port"
	req       []byte
	keepAlive bool
	timeout   time.Duration
	limited   bool                        // Requests mode: budget counts down
	budget    atomic.Int64                // requests not yet started
	spare     atomic.Pointer[net.TCPConn] // the first connection, until a request takes it
	reason    atomic.Int32                // why the run stopped; running until then
	stopping  atomic.Bool
	start     time.Time    // of the run
	stoppedAt atomic.Int64 // time.Since(start) at the first stop, +1 so that 0 means running
	workers   []*worker
}

// next reports whether a worker may start another request.
func (g *generator) next() bool {
	if g.stopping.Load() {
		return false
	}
	return !g.limited || g.budget.Add(-1) >= 0
}

// stop ends the run: no new requests start, dials are aborted and blocked
// reads and writes are interrupted by a deadline in the past. A worker sets
// its connection, then its deadline, then checks stopping; stop sets
// stopping, then reads the connection: so either the worker sees stopping,
// or stop's deadline is set after the worker's and interrupts it.
func (g *generator) stop(reason int32) {
	g.reason.CompareAndSwap(running, reason)
	g.stoppedAt.CompareAndSwap(0, int64(time.Since(g.start))+1)
	if g.stopping.Swap(true) {
		return
	}
	g.cancel()
	for _, w := range g.workers {
		if c := w.conn.Load(); c != nil {
			_ = c.SetDeadline(aLongTimeAgo)
		}
	}
}

func (g *generator) dial(deadline time.Time) (*net.TCPConn, error) {
	// No TCP keep-alive probes: they are for idle connections, and
	// enabling them costs four system calls per dial.
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	c, err := d.DialContext(g.ctx, "tcp", g.addr)
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("load: dialing %s did not give a TCP connection", g.addr)
	}
	return tc, nil
}

// result merges the workers' counts and latencies.
func (g *generator) result(elapsed time.Duration) Result {
	var r Result
	total := 0
	for _, w := range g.workers {
		r.Requests += w.requests
		r.Errors += w.errors
		r.Non2xx += w.non2xx
		total += len(w.lat)
	}
	r.Latencies = make([]time.Duration, 0, total)
	for _, w := range g.workers {
		r.Latencies = append(r.Latencies, w.lat...)
		w.lat = nil
	}
	slices.Sort(r.Latencies)
	r.Elapsed = elapsed
	r.Stats = Summarize(r.Latencies, elapsed, r.Requests)
	for _, w := range g.workers {
		for _, wait := range w.cut {
			r.InFlight++
			if wait > r.Stats.Worst { // Worst is 0 when nothing completed
				r.Unanswered++
				r.UnansweredWait = max(r.UnansweredWait, wait)
			}
		}
	}
	return r
}

// waitAtStop is how long a request started at t had waited when the run
// stopped.
func (g *generator) waitAtStop(t time.Time) time.Duration {
	at := g.stoppedAt.Load()
	if at == 0 {
		return 0
	}
	return max(0, g.start.Add(time.Duration(at-1)).Sub(t))
}

// worker is one connection's closed loop, run by one goroutine.
type worker struct {
	g    *generator
	conn atomic.Pointer[net.TCPConn] // c, published for stop
	c    *net.TCPConn                // current connection, nil between connections
	br   *bufio.Reader               // reused across connections
	// reused is true once c has carried a complete response: only then
	// may the server have closed it as idle.
	reused bool

	lat                      []time.Duration
	requests, errors, non2xx int
	// cut holds the wait of each request the stop interrupted: at most
	// one, as no request starts after the stop.
	cut []time.Duration
}

func (w *worker) run() {
	defer w.closeConn()
	for w.g.next() {
		w.one()
	}
}

// one sends one request and records its outcome.
func (w *worker) one() {
	start := time.Now()
	status, err := w.exchange(start.Add(w.g.timeout))
	if err != nil {
		w.closeConn()
		if w.g.stopping.Load() && isInterruption(err) {
			w.cut = append(w.cut, w.g.waitAtStop(start))
		} else {
			w.errors++
		}
		return
	}
	w.lat = append(w.lat, time.Since(start))
	w.requests++
	if status < 200 || status > 299 {
		w.non2xx++
	}
}

// exchange sends the request and reads the response on the current
// connection, dialing one if needed, and retrying once on a new connection
// if a reused one had been closed by the server while idle.
func (w *worker) exchange(deadline time.Time) (status int, err error) {
	for {
		if w.c == nil {
			c := w.g.spare.Swap(nil)
			if c == nil {
				var err error
				if c, err = w.g.dial(deadline); err != nil {
					return 0, err
				}
			}
			w.setConn(c)
		}
		fresh := !w.reused
		if err := w.c.SetDeadline(deadline); err != nil {
			return 0, err
		}
		if w.g.stopping.Load() {
			return 0, errStopped
		}
		if _, err := w.c.Write(w.g.req); err != nil {
			if !fresh && isIdleClose(err) {
				w.closeConn()
				continue
			}
			return 0, err
		}
		resp, err := readResponse(w.br)
		if err != nil {
			if !fresh && !resp.started && isIdleClose(err) {
				w.closeConn()
				continue
			}
			return 0, err
		}
		if !resp.reuse || !w.g.keepAlive {
			w.closeConn()
		} else {
			w.reused = true
		}
		return resp.status, nil
	}
}

func (w *worker) setConn(c *net.TCPConn) {
	w.c = c
	w.reused = false
	w.conn.Store(c)
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, readBufferSize)
	} else {
		w.br.Reset(c)
	}
}

func (w *worker) closeConn() {
	if w.c == nil {
		return
	}
	_ = w.c.Close()
	w.c = nil
	w.conn.Store(nil)
}

// isIdleClose reports whether err is what a write to, or a read from, a
// connection the server closed looks like.
func isIdleClose(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// isInterruption reports whether err is what stop causes.
func isInterruption(err error) bool {
	return errors.Is(err, errStopped) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, net.ErrClosed)
}
