package channel

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// fakeConn plays the event loop's socket: it records what the channel
// writes, and runs the loop's side synchronously when woken.
type fakeConn struct {
	mu         sync.Mutex
	out        bytes.Buffer
	closed     bool
	halfClosed bool
	tryWrite   func([]byte) (int, error) // nil: TryWrite takes what room there is if limited, else fails, as on a socket that is gone
	outbound   int                       // what OutboundBuffered reports: bytes the socket has not taken
	fromFile   int                       // bytes sent with SendFile
	// limited makes the socket take no more than room bytes (a slow
	// client: clientReads makes room); what Write offers beyond it waits
	// in gnet's buffer, outbound.
	limited bool
	room    int
	wakes   int
	onWake  func() // if set, Wake calls it
	// onWriteError, if set, makes every Write fail after calling it.
	onWriteError func()
	// held is the input gnet holds unconsumed, which Detach hands over;
	// detached counts Detach calls.
	held     string
	detached int
	// pending is what InputPending reports: input the loop has not read.
	pending bool
}

func (f *fakeConn) InputPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending
}

// Detach is gnet's: a dup of the socket and the input it holds. Its close
// of its own descriptor comes later, and Closed with it.
func (f *fakeConn) Detach() (int, []byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.detached++
	return 7, []byte(f.held), nil
}

func (f *fakeConn) Write(p []byte) (int, error) {
	if f.onWriteError != nil {
		// As gnet does on EPIPE or ECONNRESET: the connection is closed,
		// and OnClose runs, inside Write.
		f.Close()
		f.onWriteError()
		return 0, errors.New("write: connection reset by peer")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limited {
		k := f.take(len(p))
		f.outbound += len(p) - k
	}
	return f.out.Write(p)
}

// take returns how much of n bytes the socket takes now. f.mu held.
func (f *fakeConn) take(n int) int {
	if !f.limited {
		return n
	}
	k := min(n, f.room)
	f.room -= k
	return k
}

// clientReads makes room for n more bytes, which what waits in gnet's
// buffer takes first.
func (f *fakeConn) clientReads(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.room += n
	q := min(f.outbound, f.room)
	f.outbound -= q
	f.room -= q
}
func (f *fakeConn) OutboundBuffered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outbound
}
func (f *fakeConn) Wake() error {
	f.mu.Lock()
	f.wakes++
	on := f.onWake
	f.mu.Unlock()
	if on != nil {
		on()
	}
	return nil
}
func (f *fakeConn) TryWrite(pre, p []byte) (int, error) {
	b := slices.Concat(pre, p)
	switch {
	case f.tryWrite != nil:
		return f.tryWrite(b)
	case f.limited:
		f.mu.Lock()
		defer f.mu.Unlock()
		k := f.take(len(b))
		if k == 0 {
			return 0, syscall.EAGAIN
		}
		return f.out.Write(b[:k])
	}
	return 0, errors.New("fakeConn: no direct writes")
}
func (f *fakeConn) SendFile(file *os.File, off int64, n int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n = int64(f.take(int(min(n, 64<<10)))); n == 0 { // what the socket takes at a time
		return 0, syscall.EAGAIN
	}
	b := make([]byte, n)
	k, err := file.ReadAt(b, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, err
	}
	f.fromFile += k
	return f.out.Write(b[:k])
}
func (f *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}
}
func (f *fakeConn) CloseWrite() error {
	f.mu.Lock()
	f.halfClosed = true
	f.mu.Unlock()
	return nil
}
func (f *fakeConn) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

// harness runs a channel with tasks queued for the test to run by hand, so
// that the order of loop and worker steps is under the test's control.
type harness struct {
	ch    *Channel
	conn  *fakeConn
	tasks []func()
	heads []string // targets, in the order NewRequest saw them
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	h := &harness{conn: &fakeConn{}}
	cfg := Config{
		Logger: slog.New(slog.DiscardHandler),
		NewRequest: func(_ *Channel, head *parser.Request) (*Request, error) {
			h.heads = append(h.heads, string(head.Target))
			return &Request{Value: string(head.Target)}, nil
		},
		Serve: plainServe(func(ch *Channel, r *Request) {
			body := ""
			if r.Body != nil {
				b, _ := r.Body.Peek(1 << 20)
				body = string(b)
			}
			_ = ch.Write([]byte(fmt.Sprintf("[%s %s]", r.Value, body)), -1)
			ch.Finish(r.KeepAlive && r.Value != "/close") // the handler's "Connection: close"
		}),
		ErrorResponse: func(status int, reason string) []byte { return []byte(fmt.Sprintf("[%d %s]", status, reason)) },
		Submit:        func(t interface{ Run() }) error { h.tasks = append(h.tasks, t.Run); return nil },
		Poll:          func(*Channel, int) {},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h.ch = new(Channel)
	h.ch.Init(&Site{Config: cfg.WithDefaults()}, h.conn)
	t.Cleanup(h.ch.Closed)
	return h
}

// runTasks runs queued worker tasks (and the tasks they queue) and pumps.
func (h *harness) runTasks() {
	for len(h.tasks) > 0 {
		t := h.tasks[0]
		h.tasks = h.tasks[1:]
		t()
		h.ch.Pump()
	}
}

func (h *harness) output() string {
	h.conn.mu.Lock()
	defer h.conn.mu.Unlock()
	return h.conn.out.String()
}

func TestChannelAnswersPipelinedRequestsInOrder(t *testing.T) {
	h := newHarness(t, nil)
	in := "GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.1\r\nHost: h\r\n\r\n"
	n := h.ch.Received([]byte(in))
	assert.Equal(t, len(in), n)
	assert.Len(t, h.tasks, 1, "one task per connection at a time")
	h.runTasks()
	assert.Equal(t, "[/a ][/b hi][/c ]", h.output())
	assert.False(t, h.conn.closed)
}

func TestChannelStopsParsingAheadAtLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPipelined = 2 })
	in := strings.Repeat("GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 5)
	n := h.ch.Received([]byte(in))
	one := len(in) / 5
	// The first request is handed to a task at once but stays queued until
	// the task runs, so two requests are parsed and the rest wait unread.
	assert.Equal(t, 2*one, n)
	h.runTasks()
	n += h.ch.Received([]byte(in[n:]))
	h.runTasks()
	n += h.ch.Received([]byte(in[n:]))
	h.runTasks()
	assert.Equal(t, len(in), n)
	assert.Equal(t, strings.Repeat("[/x ]", 5), h.output())
}

func TestChannelDisconnectsClientPilingUpInput(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxPipelined = 1; c.MaxUnparsed = 100 })
	in := strings.Repeat("GET /x HTTP/1.1\r\nHost: h\r\n\r\n", 10)
	h.ch.Received([]byte(in))
	assert.True(t, h.conn.closed)
}

func TestChannelErrorComesAfterEarlierResponses(t *testing.T) {
	h := newHarness(t, nil)
	in := "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"
	assert.Equal(t, len(in), h.ch.Received([]byte(in)), "everything after the error is discarded")
	h.runTasks()
	assert.Equal(t, "[/a ][400 invalid header field name]", h.output())
	assert.True(t, h.conn.closed)
	assert.Equal(t, []string{"/a"}, h.heads, "no head after the bad one was even built")
}

// After a refusal the client may still be sending the refused request's
// body: closing with input unread would make the kernel reset the
// connection, and the client could lose the error response. The channel
// half-closes instead, discards what comes, and closes after Linger.
func TestChannelLingersAfterRefusal(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Linger = time.Minute; c.Limits.MaxBodyBytes = 4 })
	h.ch.Received([]byte("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nxxxx"))
	h.runTasks()
	assert.Equal(t, "[413 request body too large]", h.output())
	assert.True(t, h.conn.halfClosed, "the response is followed by FIN")
	assert.False(t, h.conn.closed)

	more := "xxxxxxxxxxGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	assert.Equal(t, len(more), h.ch.Received([]byte(more)), "the rest is read and dropped")
	h.runTasks()
	assert.Empty(t, h.heads, "nothing after the refusal is parsed")

	now := time.Now()
	timeouts := Timeouts{Idle: time.Second, Request: time.Second, Write: time.Second}
	assert.False(t, h.ch.Expire(now.Add(30*time.Second), timeouts), "still lingering: not even the idle timeout applies")
	assert.False(t, h.conn.closed)
	assert.True(t, h.ch.Expire(now.Add(2*time.Minute), timeouts), "input does not extend the linger")
	assert.True(t, h.conn.closed)
}

// A response that closes the connection while the client may still be
// sending lingers as a refusal does; one that leaves nothing unread
// closes at once.
func TestChannelLingersWhenClientStillSending(t *testing.T) {
	for _, tt := range []struct {
		name   string
		in     string
		linger bool
	}{
		{"nothing after the last request", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", false},
		{"a request after the last one", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n", true},
		{"nothing after a response that closes", "GET /close HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"a request arriving when a response closes", "GET /close HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nabc", true},
		{"another protocol behind the fence", "GET /close HTTP/1.1\r\nHost: h\r\nUpgrade: x\r\n\r\n\x16\x03\x01", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.Linger = time.Minute })
			h.ch.Received([]byte(tt.in))
			h.runTasks()
			require.Contains(t, h.output(), "[/")
			assert.Equal(t, tt.linger, h.conn.halfClosed, "half-closed")
			assert.Equal(t, !tt.linger, h.conn.closed, "closed")
		})
	}
}

// A small response on a keep-alive connection the loop has nothing more
// to do for is written by the worker itself, with no wake-up of the loop;
// whatever the socket does not take, or any work the loop has in hand,
// goes the usual way.
func TestChannelWorkerSendsSmallResponseItself(t *testing.T) {
	h := newHarness(t, nil)
	take := -1 // bytes the socket takes per TryWrite; -1: all
	h.conn.tryWrite = func(p []byte) (int, error) {
		if take >= 0 && take < len(p) {
			p = p[:take]
		}
		h.conn.mu.Lock()
		defer h.conn.mu.Unlock()
		return h.conn.out.Write(p)
	}
	runWorker := func() {
		require.Len(t, h.tasks, 1)
		task := h.tasks[0]
		h.tasks = nil
		task()
	}

	h.ch.Received([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
	runWorker()
	assert.Equal(t, "[/a ]", h.output(), "sent without the loop")
	assert.Zero(t, h.conn.wakes)

	take = 2
	h.ch.Received([]byte("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	runWorker()
	assert.Equal(t, "[/a ][/", h.output(), "what the socket took")
	assert.Equal(t, 1, h.conn.wakes, "the loop is woken for the rest")
	h.ch.Pump()
	assert.Equal(t, "[/a ][/b ]", h.output())

	take = -1
	h.ch.Received([]byte("GET /c HTTP/1.1\r\nHost: h\r\n\r\nGET /d HTTP/1.1\r\nHo"))
	runWorker()
	assert.Equal(t, 2, h.conn.wakes, "a request half received: the loop writes")
	h.ch.Pump()
	assert.Equal(t, "[/a ][/b ][/c ]", h.output())

	h.ch.Received([]byte("st: h\r\nConnection: close\r\n\r\n"))
	runWorker()
	assert.Equal(t, 3, h.conn.wakes, "a response that closes the connection: the loop writes and closes")
	h.ch.Pump()
	assert.Equal(t, "[/a ][/b ][/c ][/d ]", h.output())
	assert.True(t, h.conn.closed)
}

// Output of a pump's worth (SendBytes) or more is written by the worker
// itself, together with what was buffered before it, in one system call
// per Write, when the worker may write at all; what the socket does not
// take is buffered, in order, and the loop is woken for it.
func TestChannelWorkerWritesPumpSizedOutputThrough(t *testing.T) {
	big := strings.Repeat("b", 32)
	for _, tc := range []struct {
		name   string
		in     string // the request, perhaps with part of another behind it
		take   int    // bytes the socket takes per TryWrite; -1: all
		writes []int  // lengths the worker wrote itself, one per TryWrite
		wakes  int
	}{
		{"socket takes all", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", -1, []int{4 + 32, 32, 2}, 0},
		{"socket takes part", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", 10, []int{10}, 1},
		{"loop has a request in hand", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HT", -1, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.SendBytes = 16
				c.Serve = plainServe(func(ch *Channel, _ *Request) {
					for _, p := range []string{"head", big, big, "ok"} {
						require.NoError(t, ch.Write([]byte(p), -1))
					}
					ch.Finish(true)
				})
			})
			var writes []int
			h.conn.tryWrite = func(p []byte) (int, error) {
				if len(writes) > 0 && tc.take >= 0 {
					return 0, syscall.EAGAIN // the socket is full
				}
				if tc.take >= 0 {
					p = p[:tc.take]
				}
				writes = append(writes, len(p))
				h.conn.mu.Lock()
				defer h.conn.mu.Unlock()
				return h.conn.out.Write(p)
			}
			h.ch.Received([]byte(tc.in))
			require.Len(t, h.tasks, 1)
			task := h.tasks[0]
			h.tasks = nil
			task()
			assert.Equal(t, tc.writes, writes, "what the worker wrote itself")
			assert.Equal(t, tc.wakes, h.conn.wakes)
			h.ch.Pump()
			assert.Equal(t, "head"+big+big+"ok", h.output(), "every byte, in order")
		})
	}
}

func TestChannelContinueWaitsForEarlierResponse(t *testing.T) {
	h := newHarness(t, nil)
	h.ch.Received([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\nPUT /b HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
	assert.Empty(t, h.output(), "no 100 Continue while /a is still owed")
	h.runTasks()
	assert.Equal(t, "[/a ]HTTP/1.1 100 Continue\r\n\r\n", h.output())
	h.ch.Received([]byte("ok"))
	h.runTasks()
	assert.Equal(t, "[/a ]HTTP/1.1 100 Continue\r\n\r\n[/b ok]", h.output())
}

// Regression: a 100 Continue that gnet could only buffer (the client not
// reading an earlier response) left the channel believing gnet's buffer
// empty, so the worker could write the response to the socket itself,
// ahead of the rest of the 100 Continue.
func TestChannelWorkerDoesNotOvertakeBufferedContinue(t *testing.T) {
	h := newHarness(t, nil)
	direct := 0
	h.conn.tryWrite = func(p []byte) (int, error) {
		direct++
		h.conn.mu.Lock()
		defer h.conn.mu.Unlock()
		return h.conn.out.Write(p)
	}
	h.conn.outbound = 10 // gnet keeps part of what it is given
	h.ch.Received([]byte("PUT /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"))
	require.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n", h.output())
	h.ch.Received([]byte("ok"))
	h.runTasks()
	assert.Zero(t, direct, "the response goes through gnet, behind the 100 Continue")
	h.conn.mu.Lock()
	h.conn.outbound = 0 // the client reads
	h.conn.mu.Unlock()
	h.ch.Pump()
	assert.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n[/a ok]", h.output())

	h.ch.Received([]byte("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.runTasks()
	assert.Equal(t, 1, direct, "once gnet's buffer has drained, the worker writes again")
	assert.Equal(t, "HTTP/1.1 100 Continue\r\n\r\n[/a ok][/b ]", h.output())
}

// A refused request's parser goes back to the pool at once: the
// connection reads nothing more, and may linger (TestChannelLinger...)
// with a head buffer as large as the limit that refused it.
func TestChannelRefusalReturnsParser(t *testing.T) {
	for _, in := range []string{
		"BAD REQUEST\r\n\r\n", // the parser's 400
		"GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("x", 1<<20), // 431, the head at its limit
	} {
		h := newHarness(t, nil)
		require.Equal(t, len(in), h.ch.Received([]byte(in)))
		assert.Nil(t, h.ch.rx, "the parser is back in the pool")
		h.runTasks()
		assert.Regexp(t, `^\[4\d\d `, h.output())
		assert.Equal(t, 3, h.ch.Received([]byte("more")[:3]), "what follows is read and dropped")
		assert.Nil(t, h.ch.rx)
	}
}

func TestChannelCloseAfterConnectionClose(t *testing.T) {
	h := newHarness(t, nil)
	in := "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	h.ch.Received([]byte(in))
	h.runTasks()
	assert.Equal(t, "[/a ]", h.output())
	assert.True(t, h.conn.closed)
	require.Zero(t, h.ch.Received([]byte("GET /c HTTP/1.1\r\nHost: h\r\n\r\n"))-len("GET /c HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.runTasks()
	assert.Equal(t, "[/a ]", h.output(), "nothing after a Connection: close response runs")
}

// Regression: a request pipelined behind an Upgrade request that the
// handler answered without hijacking was left unparsed until the client
// sent more bytes, so the client waited for the idle timeout.
func TestChannelResumesParsingAfterUpgradeNotTaken(t *testing.T) {
	h := newHarness(t, nil)
	up := "GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	in := up + "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	n := h.ch.Received([]byte(in))
	require.Equal(t, len(up), n, "nothing is parsed past an Upgrade request until it is served")
	h.runTasks()
	h.ch.mu.Lock()
	woken := is(h.ch.state, woken)
	h.ch.mu.Unlock()
	assert.True(t, woken, "lifting the fence wakes the loop, which then calls Received")
	n += h.ch.Received([]byte(in[n:]))
	h.runTasks()
	assert.Equal(t, len(in), n)
	assert.Equal(t, "[/a ][/b ]", h.output())
}

// Regression: the request timeout's clock, started by the first body byte,
// was not stopped when the request completed, so a keep-alive connection
// idle for the request timeout after any request with a body was answered
// 408 and closed.
func TestChannelRequestClockStopsWhenRequestCompletes(t *testing.T) {
	h := newHarness(t, nil)
	h.ch.Received([]byte("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"))
	h.ch.Received([]byte("hi"))
	h.runTasks()
	require.Equal(t, "[/a hi]", h.output())
	assert.False(t, h.ch.Expire(time.Now().Add(time.Hour), Timeouts{Request: time.Second}))
	h.ch.mu.Lock()
	late := is(h.ch.state, timedOut)
	h.ch.mu.Unlock()
	assert.False(t, late, "an answered request is not a slow one")
	h.ch.Received([]byte("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.runTasks()
	assert.Equal(t, "[/a hi][/b ]", h.output())
}

// Regression: a request pipelined behind one without keep-alive was run
// when the worker finished the first before the loop parsed the second
// (Finish drops only what is already queued); the same when the client
// asked for keep-alive but the response closed the connection (a
// handler's "Connection: close"), which the loop cannot know from the
// request. Submit runs tasks at once here, which is that interleaving.
func TestChannelNothingRunsAfterLastRequest(t *testing.T) {
	for _, tc := range []struct {
		first, answer string
		heads         int // built: the loop learns of a response's close only when it queues the next request
	}{
		{"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", "[/a ]", 1},
		{"GET /a HTTP/1.0\r\n\r\n", "[/a ]", 1},
		{"GET /close HTTP/1.1\r\nHost: h\r\n\r\n", "[/close ]", 2},
	} {
		var h *harness
		h = newHarness(t, func(c *Config) {
			c.Submit = func(t interface{ Run() }) error { t.Run(); h.ch.Pump(); return nil }
		})
		in := tc.first + "GET /b HTTP/1.1\r\nHost: h\r\n\r\nPOST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
		assert.Equal(t, len(in), h.ch.Received([]byte(in)), "the rest is discarded")
		h.runTasks()
		assert.Equal(t, tc.answer, h.output(), "%q", tc.first)
		assert.True(t, h.conn.closed)
		assert.Len(t, h.heads, tc.heads, "heads built after the last request")
	}
}

// Regression: gnet calls OnClose, and so Closed, from inside Write when the
// socket has been reset. Pump held the channel's mutex across Write, so
// Closed deadlocked the event loop, and with it every connection on it and
// Shutdown, whenever a client reset while output was being sent.
func TestChannelWriteErrorClosesWithoutDeadlock(t *testing.T) {
	h := newHarness(t, nil)
	h.ch.Received([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.conn.onWriteError = h.ch.Closed
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.runTasks() // the worker writes; the pump's Write fails
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Pump deadlocked when the connection closed inside Write")
	}
	assert.True(t, h.conn.closed)
	assert.ErrorIs(t, h.ch.Write([]byte("x"), -1), ErrClosed, "the channel knows it is closed")
}

// Regression: the 100 Continue is written from Received; when that Write
// closed the connection (client reset), Received went on parsing the body
// into a request Closed had already released, and the event loop panicked.
func TestChannelContinueWriteErrorStopsParsing(t *testing.T) {
	h := newHarness(t, nil)
	h.conn.onWriteError = h.ch.Closed
	in := "PUT /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata"
	require.NotPanics(t, func() { h.ch.Received([]byte(in)) })
	h.runTasks()
	assert.Empty(t, h.tasks, "nothing of a closed connection is served")
	assert.True(t, h.conn.closed)
}

// Every idle keep-alive connection holds one Channel, which the loop keeps
// in one object with gnet's Conn (16 bytes): past 80 bytes that object
// moves up from the 96-byte size class to the 112 (docs/performance.md,
// memory per idle connection).
func TestChannelFitsItsSizeClass(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(Channel{}), uintptr(80))
}

// Regression: a refusal is the channel's own request, never made by
// NewRequest, so it has no Value for Cancel to work with; Closed handed it
// to Cancel all the same, queued or being answered, and the adapter's
// Cancel took the server down with a nil type assertion on the event loop.
// Found by the soak (bench/soak) and TestClientGoneWithRefusalQueued.
func TestChannelClosedCancelsOnlyHandlerRequests(t *testing.T) {
	bad := "GET /b HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n"
	for _, tc := range []struct {
		name string
		in   string
		// closeWhile closes the connection from inside ErrorResponse: the
		// loop noticing the client gone while a worker answers the refusal.
		closeWhile bool
		want       []string
	}{
		{"refusal queued behind a request", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + bad, false, []string{"/a"}},
		{"refusal being answered", bad, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cancelled []string
			var h *harness
			h = newHarness(t, func(c *Config) {
				c.Cancel = func(r *Request) { cancelled = append(cancelled, r.Value.(string)) }
				c.ErrorResponse = func(status int, reason string) []byte {
					if tc.closeWhile {
						h.ch.Closed()
					}
					return []byte(fmt.Sprintf("[%d %s]", status, reason))
				}
			})
			h.ch.Received([]byte(tc.in))
			if tc.closeWhile {
				h.runTasks()
			} else {
				h.ch.Closed() // before the worker takes /a
			}
			assert.Equal(t, tc.want, cancelled)
		})
	}
}

// TestChannelServesQueueInOneTask: a worker serves the requests queued
// behind the one it finishes without a new task, as Waitress's
// channel.service() does, but hands the channel back to the pool after
// MaxPipelined in a row so that one client cannot keep a worker.
func TestChannelServesQueueInOneTask(t *testing.T) {
	var h *harness
	fed := false
	h = newHarness(t, func(c *Config) {
		c.MaxPipelined = 2
		c.Serve = plainServe(func(ch *Channel, r *Request) {
			if !fed {
				// The loop parses the third request while the worker is busy.
				fed = true
				h.ch.Received([]byte("GET /c HTTP/1.1\r\nHost: h\r\n\r\n"))
			}
			_ = ch.Write([]byte(fmt.Sprintf("[%s]", r.Value)), -1)
			ch.Finish(true)
		})
	})
	h.ch.Received([]byte("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.Len(t, h.tasks, 1)
	first := h.tasks[0]
	h.tasks = nil
	first()
	h.ch.Pump()
	assert.Equal(t, "[/a][/b]", h.output(), "two in a row in one task")
	require.Len(t, h.tasks, 1, "at MaxPipelined the channel goes back to the pool")
	h.runTasks()
	assert.Equal(t, "[/a][/b][/c]", h.output())
	assert.Empty(t, h.tasks)
}

// TestChannelQueuesItselfAgainAfterRelease: once a request's Serve has
// given the worker's place away (a stream, a hijack), its goroutine is no
// longer the pool's, so the requests behind go back to the pool rather
// than being served on it.
func TestChannelQueuesItselfAgainAfterRelease(t *testing.T) {
	h := newReleasingHarness(t, nil)
	h.ch.Received([]byte("GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\nGET /last HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.run(t)
	assert.Equal(t, "[/stream left]", h.output(), "nothing more on the released goroutine")
	assert.Equal(t, 1, h.releases)
	h.run(t)
	assert.Equal(t, "[/stream left][/next][/last]", h.output(), "the rest in one task of the pool's")
	assert.Equal(t, 1, h.releases)
	assert.Empty(t, h.submitted)
}

// TestLeaveCountsADescriptor: a request that leaves the pool holds one
// of the descriptor budget's descriptors until its Serve returns, since
// nothing else then bounds what such handlers hold; with the budget
// spent, Leave refuses, and the request keeps its worker, which serves
// the requests behind it as usual.
func TestLeaveCountsADescriptor(t *testing.T) {
	tests := []struct {
		name    string
		budget  int
		left    bool
		outputs []string // after each task
	}{
		{"budget left", 1, true, []string{"[/stream left]", "[/stream left][/next]"}},
		{"budget spent", 0, false, []string{"[/stream kept][/next]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fds := buffers.NewDescriptors(tt.budget)
			h := newReleasingHarness(t, func(c *Config) { c.Files = fds })
			openWhileServed := -1
			h.served = func() { openWhileServed = fds.Open() }
			h.ch.Received([]byte("GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n"))
			for i, want := range tt.outputs {
				h.run(t)
				assert.Equal(t, want, h.output(), "after task %d", i)
			}
			assert.Empty(t, h.submitted)
			assert.Equal(t, tt.budget, openWhileServed, "held while the handler runs")
			assert.Equal(t, 0, fds.Open(), "given back")
			assert.Equal(t, tt.left, h.releases == 1)
			assert.Equal(t, !tt.left, fds.Denied() == 1)
		})
	}
}

// releasingHarness runs its tasks with RunReleasing, and its Serve tries
// to leave the pool for /stream and writes whether it could.
type releasingHarness struct {
	*harness
	submitted []interface{ RunReleasing(func()) }
	releases  int    // calls of the pool's release
	served    func() // called on /stream once Leave has answered
}

func newReleasingHarness(t *testing.T, mutate func(*Config)) *releasingHarness {
	h := &releasingHarness{}
	h.harness = newHarness(t, func(c *Config) {
		c.Submit = func(t interface{ Run() }) error {
			h.submitted = append(h.submitted, t.(interface{ RunReleasing(func()) }))
			return nil
		}
		c.Serve = func(ch *Channel, r *Request, release func()) bool {
			out, left := fmt.Sprintf("[%s]", r.Value), false
			if r.Value == "/stream" {
				out = "[/stream kept]"
				if left = ch.Leave(release); left {
					out = "[/stream left]"
				}
				if h.served != nil {
					h.served()
				}
			}
			_ = ch.Write([]byte(out), -1)
			ch.Finish(true)
			return left
		}
		if mutate != nil {
			mutate(c)
		}
	})
	return h
}

// run runs the one task submitted and pumps.
func (h *releasingHarness) run(t *testing.T) {
	t.Helper()
	require.Len(t, h.submitted, 1)
	task := h.submitted[0]
	h.submitted = nil
	task.RunReleasing(func() { h.releases++ })
	h.ch.Pump()
}

// TestChannelHandedOff: HandedOff tells the loop once that Received handed
// the channel to the pool, and never for input that completes no request
// or arrives while a task already runs.
func TestChannelHandedOff(t *testing.T) {
	h := newHarness(t, nil)
	h.ch.Received([]byte("GET /a HTTP/1.1\r\nHo"))
	assert.False(t, h.ch.HandedOff(), "a partial head")
	h.ch.Received([]byte("st: h\r\n\r\n"))
	assert.True(t, h.ch.HandedOff(), "the head completed: a task was submitted")
	assert.False(t, h.ch.HandedOff(), "told once")
	h.ch.Received([]byte("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	assert.False(t, h.ch.HandedOff(), "queued behind the running task: no new hand-off")
	h.runTasks()
	assert.Equal(t, "[/a ][/b ]", h.output())
}

// gnet closes its descriptor of a hijacked socket after Detach, not in
// it, and reads the socket until then: what arrives meanwhile (a
// websocket client's first message, sent as soon as it read the 101 the
// hijacker wrote) must reach the hijacker, who gets the socket only once
// gnet has let go of it.
func TestChannelHijackCollectsInputUntilClosed(t *testing.T) {
	type result struct {
		fd     int
		unread string
		err    error
	}
	got := make(chan result, 1)
	h := newHarness(t, func(c *Config) {
		c.Serve = plainServe(func(ch *Channel, r *Request) {
			fd, unread, _, err := ch.Hijack(nil)
			got <- result{fd, string(unread), err}
		})
	})
	h.conn.held = "early "
	h.ch.Received([]byte("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: x\r\n\r\n"))
	require.Len(t, h.tasks, 1)
	worker := h.tasks[0]
	h.tasks = nil
	go worker() // blocks in Hijack until the loop answers
	for i := 0; i < 2000 && h.conn.detached == 0; i++ {
		h.ch.Pump() // the loop, woken by the Hijack
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, 1, h.conn.detached, "the loop detached the socket")

	late := "frame one"
	assert.Equal(t, len(late), h.ch.Received([]byte(late)), "input gnet reads before it closes is taken")
	select {
	case r := <-got:
		t.Fatalf("the hijacker had the socket while gnet still read it: %+v", r)
	case <-time.After(10 * time.Millisecond):
	}
	h.ch.Closed() // gnet's close of its descriptor
	select {
	case r := <-got:
		assert.Equal(t, result{fd: 7, unread: "early frame one"}, r)
	case <-time.After(10 * time.Second):
		t.Fatal("Hijack did not return after Closed")
	}
	assert.Empty(t, h.output(), "nothing was written for the hijacked request")
}

// TestWakeAsksTheLoopOnceWithTheMutexFree: Wake (the ticker's polls) asks
// the loop once until a pump has run, and asks with the channel's mutex
// let go: the loop, woken at once, would otherwise sleep on it and need
// a second wake-up (a futex call and a thread woken per poll).
func TestWakeAsksTheLoopOnceWithTheMutexFree(t *testing.T) {
	h := newHarness(t, nil)
	free := 0
	h.conn.onWake = func() {
		if h.ch.mu.TryLock() {
			free++
			h.ch.mu.Unlock()
		}
	}
	h.ch.Wake()
	h.ch.Wake()
	assert.Equal(t, 1, h.conn.wakes, "once until the loop pumps")
	h.ch.Pump()
	h.ch.Wake()
	assert.Equal(t, 2, h.conn.wakes, "again after a pump")
	assert.Equal(t, 2, free, "the mutex free while the loop is asked")
	h.ch.Closed()
	h.ch.Wake()
	assert.Equal(t, 2, h.conn.wakes, "not once closed")
}

// TestWorkersAskTheLoopWithTheMutexFree: so do a worker's Write, Flush
// and Finish when they leave output to the loop (the socket took none).
func TestWorkersAskTheLoopWithTheMutexFree(t *testing.T) {
	for _, call := range []string{"write", "flush", "finish"} {
		t.Run(call, func(t *testing.T) {
			var h *harness
			h = newHarness(t, func(c *Config) {
				c.Serve = plainServe(func(ch *Channel, _ *Request) {
					switch call {
					case "write":
						assert.NoError(t, ch.Write(bytes.Repeat([]byte("x"), ch.site.SendBytes), -1))
					case "flush":
						assert.NoError(t, ch.Write([]byte("x"), -1))
						assert.NoError(t, ch.Flush())
					}
					wakes := h.conn.wakes
					ch.Finish(true)
					if call == "finish" {
						assert.Equal(t, wakes+1, h.conn.wakes)
					}
				})
			})
			h.conn.tryWrite = func([]byte) (int, error) { return 0, nil } // the socket takes nothing now
			asked, free := 0, 0
			h.conn.onWake = func() {
				asked++
				if h.ch.mu.TryLock() {
					free++
					h.ch.mu.Unlock()
				}
			}
			h.ch.Received([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
			h.runTasks()
			assert.Positive(t, asked)
			assert.Equal(t, asked, free, "the mutex free while the loop is asked")
		})
	}
}

// TestPanicInWriteLeavesTheMutexFree: a panic inside Write or Flush (a
// bug, or a socket layer's), which the adapter recovers from as from a
// handler's, must not leave the channel's mutex held: the loop would
// block on it at its next pump, and every connection of that loop with
// it.
func TestPanicInWriteLeavesTheMutexFree(t *testing.T) {
	for _, call := range []string{"write", "flush"} {
		t.Run(call, func(t *testing.T) {
			h := newHarness(t, nil)
			h.conn.tryWrite = func([]byte) (int, error) { panic("the socket layer broke") }
			h.ch.mu.Lock()
			put(&h.ch.state, loopIdle, true) // the worker may write to the socket itself
			h.ch.mu.Unlock()
			func() {
				defer func() { assert.NotNil(t, recover(), "the panic reaches the caller") }()
				if call == "write" {
					_ = h.ch.Write(bytes.Repeat([]byte("x"), h.ch.site.SendBytes), -1)
				} else {
					h.ch.mu.Lock()
					h.ch.out = h.ch.site.pools.output()
					_, _ = h.ch.out.Write([]byte("x"))
					h.ch.mu.Unlock()
					_ = h.ch.Flush()
				}
			}()
			// Either way it is unlocked after, so that the cleanup can close.
			assert.True(t, h.ch.mu.TryLock(), "the mutex is free")
			h.ch.mu.Unlock()
		})
	}
}
