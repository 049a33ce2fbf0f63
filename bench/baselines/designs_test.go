package baselines_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carhop/carhop/bench/baselines"
)

const (
	hello = "Hello, World!"
	// ioLimit bounds every network wait in these tests; process designs
	// under the race detector start a process per connection in tens of
	// milliseconds, so this is generous.
	ioLimit = 10 * time.Second
)

func TestNames(t *testing.T) {
	names := baselines.Names()
	assert.Equal(t, []string{"sequential", "process-per-conn", "process-pool",
		"goroutine-per-conn", "goroutine-pool", "epoll", "epoll-pool"}, names)
	assert.Len(t, baselines.Designs, len(names))
	for _, n := range names {
		assert.NotNil(t, baselines.Designs[n], n)
	}
	names[0] = "changed"
	assert.Equal(t, "sequential", baselines.Names()[0], "Names returns a copy")
}

// server is a design serving on 127.0.0.1:0 until stopped.
type server struct {
	name   string
	addr   string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func start(t *testing.T, name string, d baselines.Design) *server {
	t.Helper()
	return startOn(t, listen(t), name, d)
}

func listen(t *testing.T) *net.TCPListener {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	return ln
}

func startOn(t *testing.T, ln *net.TCPListener, name string, d baselines.Design) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{name: name, addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- d(ctx, ln) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends the design and checks that it returns, cleanly and soon.
func (s *server) stop(t *testing.T) {
	s.once.Do(func() {
		s.cancel()
		select {
		case err := <-s.done:
			assert.NoError(t, err, "%s returned", s.name)
		case <-time.After(ioLimit):
			t.Errorf("%s did not return after its context ended", s.name)
		}
	})
}

// eachDesign runs test against a fresh server of every design.
func eachDesign(t *testing.T, test func(t *testing.T, s *server)) {
	eachDesignOn(t, listen, test)
}

// eachDesignOn is eachDesign with listeners made by listen.
func eachDesignOn(t *testing.T, listen func(*testing.T) *net.TCPListener, test func(t *testing.T, s *server)) {
	for _, name := range baselines.Names() {
		t.Run(name, func(t *testing.T) {
			test(t, startOn(t, listen(t), name, baselines.Designs[name]))
		})
	}
}

// setBuffer sets a socket buffer option (SO_SNDBUF, SO_RCVBUF) on rc.
func setBuffer(rc syscall.RawConn, opt, size int) error {
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, size)
	}); cerr != nil {
		return cerr
	}
	return err
}

// rawConn is a client that writes bytes and reads responses by hand, to
// see exactly what a server sends.
type rawConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	return dialWith(t, &net.Dialer{Timeout: ioLimit}, addr)
}

func dialWith(t *testing.T, d *net.Dialer, addr string) *rawConn {
	t.Helper()
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(ioLimit)))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	_, err := io.WriteString(r.c, s)
	require.NoError(r.t, err)
}

type response struct {
	status int
	header textproto.MIMEHeader
	body   string
}

// readResponse reads one response; HEAD responses and 1xx have no body.
func readResponse(br *bufio.Reader, head bool) (response, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return response{}, err
	}
	proto, rest, _ := strings.Cut(line, " ")
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if proto != "HTTP/1.1" || err != nil {
		return response{}, fmt.Errorf("status line %q", line)
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		return response{}, err
	}
	resp := response{status: status, header: hdr}
	if head || status < 200 {
		return resp, nil
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		return response{}, fmt.Errorf("Content-Length %q", hdr.Get("Content-Length"))
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return response{}, err
	}
	resp.body = string(b)
	return resp, nil
}

func (r *rawConn) response(head bool) response {
	r.t.Helper()
	resp, err := readResponse(r.br, head)
	require.NoError(r.t, err)
	return resp
}

// hello reads one "Hello, World!" and returns its Connection header.
func (r *rawConn) hello() string {
	r.t.Helper()
	resp := r.response(false)
	require.Equal(r.t, 200, resp.status)
	require.Equal(r.t, hello, resp.body)
	return resp.header.Get("Connection")
}

// closed checks that the server closed the connection, having sent
// nothing more.
func (r *rawConn) closed() {
	r.t.Helper()
	rest, err := io.ReadAll(r.br)
	if err != nil {
		require.ErrorIs(r.t, err, syscall.ECONNRESET)
	}
	require.Empty(r.t, string(rest))
}

const get = "GET / HTTP/1.1\r\nHost: test\r\n\r\n"
const getClose = "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"

func newClient(t *testing.T) *http.Client {
	tr := oneConn()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: ioLimit}
}

// oneConn is a transport for a client that makes one request at a time.
// A request made just after a response can otherwise race the previous
// connection's return to the idle pool with a new dial, and on loopback
// under load the dial may win: reuse would then not tell about the
// server.
func oneConn() *http.Transport {
	return &http.Transport{MaxConnsPerHost: 1}
}

// fetch GETs url and reports the body and whether the connection was
// reused.
func fetch(c *http.Client, url string) (string, bool, error) {
	var reused bool
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		return "", false, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", false, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", false, err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/plain" || resp.ContentLength != int64(len(hello)) {
		return "", false, fmt.Errorf("got %s, Content-Type %q, Content-Length %d", resp.Status, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	return string(b), reused, nil
}

func TestKeepAlive(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := newClient(t)
		var reused []bool
		for range 3 {
			body, r, err := fetch(c, "http://"+s.addr+"/")
			require.NoError(t, err)
			assert.Equal(t, hello, body)
			reused = append(reused, r)
		}
		assert.Equal(t, []bool{false, true, true}, reused, "one connection for three requests")
	})
}

func TestConnectionClose(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := dial(t, s.addr)
		c.send(getClose)
		assert.Equal(t, "close", c.hello())
		c.closed()
	})
}

func TestHTTP10(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		t.Run("closes", func(t *testing.T) {
			c := dial(t, s.addr)
			c.send("GET / HTTP/1.0\r\n\r\n")
			assert.Equal(t, "close", c.hello())
			c.closed()
		})
		t.Run("keep-alive", func(t *testing.T) {
			c := dial(t, s.addr)
			for range 2 {
				c.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
				assert.Equal(t, "keep-alive", c.hello())
			}
			c.send("GET / HTTP/1.0\r\n\r\n")
			assert.Equal(t, "close", c.hello())
			c.closed()
		})
	})
}

// The HEAD in the middle has no body: answered out of order, the
// responses would not even parse.
func TestPipelined(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := dial(t, s.addr)
		c.send("GET /1 HTTP/1.1\r\nHost: test\r\n\r\n" +
			"HEAD /2 HTTP/1.1\r\nHost: test\r\n\r\n" +
			"GET /3 HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
		assert.Empty(t, c.hello())
		head := c.response(true)
		assert.Equal(t, 200, head.status)
		assert.Equal(t, strconv.Itoa(len(hello)), head.header.Get("Content-Length"))
		assert.Equal(t, "close", c.hello())
		c.closed()
	})
}

// The body looks like a request: a server that did not skip it would
// answer three times.
func TestBodySkipped(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := dial(t, s.addr)
		body := get
		c.send("POST /form HTTP/1.1\r\nHost: test\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
		time.Sleep(10 * time.Millisecond)
		c.send(body[:10])
		time.Sleep(10 * time.Millisecond)
		c.send(body[10:] + getClose)
		assert.Empty(t, c.hello())
		assert.Equal(t, "close", c.hello())
		c.closed()
	})
}

func TestExpectContinue(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := dial(t, s.addr)
		c.send("PUT / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		assert.Equal(t, 100, c.response(false).status)
		c.send("hello" + getClose)
		assert.Empty(t, c.hello())
		assert.Equal(t, "close", c.hello())
		c.closed()
	})
}

func TestBadRequests(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		t.Run("no host", func(t *testing.T) {
			c := dial(t, s.addr)
			c.send("GET / HTTP/1.1\r\n\r\n" + get)
			resp := c.response(false)
			assert.Equal(t, 400, resp.status)
			assert.Equal(t, "close", resp.header.Get("Connection"))
			c.closed()
		})
		// The server may close before it has read everything, and then
		// the kernel resets the connection, possibly before the client
		// reads the 431: either is a refusal.
		t.Run("head too large", func(t *testing.T) {
			c := dial(t, s.addr)
			c.send("GET / HTTP/1.1\r\nHost: test\r\nX-Big: " + strings.Repeat("a", 9000))
			resp, err := readResponse(c.br, false)
			if err == nil {
				assert.Equal(t, 431, resp.status)
				assert.Equal(t, "close", resp.header.Get("Connection"))
				c.closed()
			} else if !errors.Is(err, io.EOF) {
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			}
		})
	})
}

// Many more pipelined requests than socket buffers hold, sent before a
// single response is read: the server must stop reading while its output
// waits (EAGAIN and EPOLLOUT in the event loops) and lose nothing. Small
// buffers at both ends make sure the server's writes do fill up: the
// client's set before connecting so that the window stays small, the
// server's on the listener, whose connections inherit it.
func TestPipelineBackpressure(t *testing.T) {
	const n = 5000
	small := &net.Dialer{Timeout: ioLimit, Control: func(_, _ string, rc syscall.RawConn) error {
		return setBuffer(rc, syscall.SO_RCVBUF, 4096)
	}}
	smallListen := func(t *testing.T) *net.TCPListener {
		ln := listen(t)
		rc, err := ln.SyscallConn()
		require.NoError(t, err)
		require.NoError(t, setBuffer(rc, syscall.SO_SNDBUF, 4096))
		return ln
	}
	eachDesignOn(t, smallListen, func(t *testing.T, s *server) {
		c := dialWith(t, small, s.addr)
		sent := make(chan error, 1)
		go func() {
			batch := strings.Repeat(get, 100)
			for range n/100 - 1 {
				if _, err := io.WriteString(c.c, batch); err != nil {
					sent <- err
					return
				}
			}
			_, err := io.WriteString(c.c, strings.Repeat(get, 99)+getClose)
			sent <- err
		}()
		time.Sleep(100 * time.Millisecond)
		for i := range n {
			resp := c.response(false)
			require.Equal(t, 200, resp.status, "response %d", i)
			require.Equal(t, hello, resp.body, "response %d", i)
		}
		require.NoError(t, <-sent)
		c.closed()
	})
}

// 20 clients, 10 requests each, all at once, each on one keep-alive
// connection of its own: any connection a design closes early fails its
// client. The sequential server takes them one connection at a time; the
// others wait their turn in the backlog, so each client closes its
// connection when done and thinks a little between requests, as a person
// would.
//
// The clients are raw: http.Transport drops a connection whose last
// request's write it has not seen complete 50 ms after the response
// (maxWriteWaitBeforeConnReuse), which a machine loaded with twenty
// starting child processes can make happen, and which would then look
// like a server's close.
func TestConcurrentClients(t *testing.T) {
	const clients, requests = 20, 10
	eachDesign(t, func(t *testing.T, s *server) {
		var think time.Duration
		if s.name == "sequential" {
			think = 2 * time.Millisecond
		}
		errs := make(chan error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				if err := keepAliveClient(s.addr, requests, think); err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// keepAliveClient sends n GETs on one connection to addr, one at a time,
// and checks each answer.
func keepAliveClient(addr string, n int, think time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, ioLimit)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.SetDeadline(time.Now().Add(ioLimit)); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	for j := range n {
		if _, err := io.WriteString(c, get); err != nil {
			return fmt.Errorf("request %d: %w", j, err)
		}
		resp, err := readResponse(br, false)
		if err == nil && (resp.status != 200 || resp.body != hello) {
			err = fmt.Errorf("%d %q", resp.status, resp.body)
		}
		if err != nil {
			return fmt.Errorf("request %d: %w", j, err)
		}
		time.Sleep(think)
	}
	return nil
}

// The failure mode of the designs with one server per connection and a
// limit of one: an idle keep-alive client holds the only server, and the
// next client waits until it leaves. The others answer at once.
func TestIdleClientBlocks(t *testing.T) {
	tests := []struct {
		name   string
		design baselines.Design
		blocks bool
	}{
		{"sequential", baselines.Sequential, true},
		{"process-pool of 1", baselines.ProcessPool(1), true},
		{"goroutine-pool of 1", baselines.GoroutinePool(1), true},
		{"process-per-conn", baselines.ProcessPerConn, false},
		{"process-pool of 2", baselines.ProcessPool(2), false},
		{"goroutine-per-conn", baselines.GoroutinePerConn, false},
		{"goroutine-pool of 2", baselines.GoroutinePool(2), false},
		{"epoll", baselines.Epoll, false},
		{"epoll-pool of 1", baselines.EpollPool(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.name, tt.design)
			idle := dial(t, s.addr)
			idle.send(get)
			idle.hello()
			nextAnswered(t, s, idle, tt.blocks)
		})
	}
}

// nextAnswered checks that a new client is answered at once, or, when
// holder blocks the server, not within 300 ms and then once holder
// leaves.
func nextAnswered(t *testing.T, s *server, holder *rawConn, blocks bool) {
	t.Helper()
	next := dial(t, s.addr)
	next.send(get)
	if blocks {
		require.NoError(t, next.c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
		_, err := next.br.Peek(1)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "answered while another client held the server")
		require.NoError(t, next.c.SetReadDeadline(time.Now().Add(ioLimit)))
		require.NoError(t, holder.c.Close())
	}
	next.hello()
}

// Every design answers /big with 1 MiB of 'x', HEAD with its length
// only, and goes on serving the connection after it.
func TestBigResponse(t *testing.T) {
	eachDesign(t, func(t *testing.T, s *server) {
		c := dial(t, s.addr)
		c.send("GET /big HTTP/1.1\r\nHost: test\r\n\r\nHEAD /big HTTP/1.1\r\nHost: test\r\n\r\n" + get)
		resp := c.response(false)
		require.Equal(t, 200, resp.status)
		require.Equal(t, strings.Repeat("x", bigSize), resp.body)
		head := c.response(true)
		assert.Equal(t, strconv.Itoa(bigSize), head.header.Get("Content-Length"))
		c.hello()
	})
}

const bigSize = 1 << 20

// slowReader asks for /big through a small receive buffer and a real
// network's segment size, and reads nothing: on loopback's 64 KiB
// segments Linux would give the server's socket megabytes of send buffer,
// and a blocking design could drop the whole response into the kernel.
func slowReader(t *testing.T, addr string) *rawConn {
	t.Helper()
	d := &net.Dialer{Timeout: ioLimit, Control: func(_, _ string, rc syscall.RawConn) error {
		if err := setBuffer(rc, syscall.SO_RCVBUF, 16<<10); err != nil {
			return err
		}
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1460)
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c := dialWith(t, d, addr)
	// Connection: close, so that only the response can hold the server,
	// not the connection kept alive after it (TestIdleClientBlocks).
	c.send("GET /big HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
	// The response has begun: its writer is at work.
	_, err := c.br.Peek(1)
	require.NoError(t, err)
	return c
}

// The slow-read scenario's failure mode: a client that reads its large
// response slowly keeps whatever writes it. The designs that write from
// the connection's own server are held, and with a limit of one nobody
// else is answered; an event loop keeps the rest in its buffers and
// answers the next client at once.
func TestSlowReaderBlocks(t *testing.T) {
	tests := []struct {
		name   string
		design baselines.Design
		blocks bool
	}{
		{"sequential", baselines.Sequential, true},
		{"process-pool of 1", baselines.ProcessPool(1), true},
		{"goroutine-pool of 1", baselines.GoroutinePool(1), true},
		{"goroutine-per-conn", baselines.GoroutinePerConn, false},
		{"epoll", baselines.Epoll, false},
		{"epoll-pool of 1", baselines.EpollPool(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.name, tt.design)
			nextAnswered(t, s, slowReader(t, s.addr), tt.blocks)
		})
	}
}

func TestPoolSizeChecked(t *testing.T) {
	for name, d := range map[string]baselines.Design{
		"process-pool": baselines.ProcessPool(0), "goroutine-pool": baselines.GoroutinePool(0), "epoll-pool": baselines.EpollPool(-1),
	} {
		ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		assert.Error(t, d(context.Background(), ln), name)
		assert.ErrorIs(t, ln.Close(), net.ErrClosed, "%s closes its listener", name)
	}
}

// Stopping ends everything the design started, with clients still
// connected: one idle between requests, one halfway through a head.
func TestStopReleasesEverything(t *testing.T) {
	for _, name := range baselines.Names() {
		t.Run(name, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			s := start(t, name, baselines.Designs[name])
			idle := dial(t, s.addr)
			idle.send(get)
			idle.hello()
			partial := dial(t, s.addr)
			partial.send("GET / HTTP/1.1\r\nHost: te")
			time.Sleep(50 * time.Millisecond)

			kids := children(t)
			switch name {
			case "process-pool":
				assert.Len(t, kids, baselines.DefaultProcesses)
			case "process-per-conn":
				assert.NotEmpty(t, kids, "the idle connection's process")
			default:
				assert.Empty(t, kids)
			}

			s.stop(t)
			idle.closed()
			partial.closed()
			for _, pid := range kids {
				assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "child %d killed and reaped", pid)
			}
			assert.Empty(t, children(t), "no child left, zombie or not")
			_ = idle.c.Close()
			_ = partial.c.Close()
			goleak.VerifyNone(t, before)
		})
	}
}

// children lists this process's child processes, zombies included, from
// /proc.
func children(t *testing.T) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A child that dies on its own is reported: the pool stops at once, since
// it would serve on short-handed; process-per-conn serves on and reports
// it when stopped.
func TestChildDeathReported(t *testing.T) {
	for _, name := range []string{"process-pool", "process-per-conn"} {
		t.Run(name, func(t *testing.T) {
			ln := listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- baselines.Designs[name](ctx, ln) }()
			c := dial(t, ln.Addr().String())
			c.send(get)
			c.hello()
			kids := children(t)
			require.NotEmpty(t, kids)
			require.NoError(t, syscall.Kill(kids[0], syscall.SIGKILL))
			if name == "process-per-conn" {
				c.closed()
				next := dial(t, ln.Addr().String())
				next.send(getClose)
				next.hello()
				cancel()
			}
			select {
			case err := <-done:
				require.ErrorContains(t, err, "signal: killed")
			case <-time.After(ioLimit):
				t.Fatal("did not return")
			}
			assert.Empty(t, children(t))
		})
	}
}
