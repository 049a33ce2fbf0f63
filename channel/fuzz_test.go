package channel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// FuzzChannelReceived feeds a channel arbitrary client bytes, cut into
// pieces of a fuzzed size, running the worker and the pump after each
// piece as the loop would, or (the fuzzer's choice) running each task
// inside Submit, as a worker on another CPU can finish a request before
// the loop parses the next. What must hold whatever arrives: Received
// never claims more than it was given; once a request is refused, no
// further request reaches NewRequest (nothing hides behind a bad request)
// and the parser is back in its pool; no request is served after a
// response that closed the connection (the client's last request, or a
// handler's close: the harness closes after /close); and nothing panics.
//
// A request for /stream gives its worker's place in the pool away, after
// which its task must serve nothing more: the channel queues itself again.
//
// A request for /hijack tries to hijack the connection (when the worker
// runs after the loop's read): either Hijack fails with ErrPipelined,
// because the loop had read past the request, and the request is served
// as usual, or the hijacker gets exactly what followed the request, which
// an independent parse of the input locates.
//
// The piece byte's 64 bit runs the channel with its memory budget spent
// (parse one request ahead, then leave input unread; refuse a head past
// 16 KiB that arrives in pieces), its 32 bit with
// MaxUnparsed at 100 bytes (cut off a client past it); either way, once
// the connection closes, everything the channel counted against the
// budget is given back.
func FuzzChannelReceived(f *testing.F) {
	for _, seed := range []struct {
		in    string
		piece byte
	}{
		{"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 0},
		{"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /n HTTP/1.1\r\nHost: h\r\n\r\n", 3},
		{"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n\r\n", 7},
		{"PUT /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", 1},
		{"GET /u HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\nGET /v HTTP/1.1\r\nHost: h\r\n\r\n", 11},
		{"GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n", 5},
		{"BAD\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n", 2},
		{"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 16},
		{"GET /close HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 128 + 31},
		{"GET /hijack HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 31},
		{"GET /hijack HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 20},
		{"GET /hijack HTTP/1.0\r\n\r\nraw", 3},
		{"GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 31},
		{"GET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /stream HTTP/1.1\r\nHost: h\r\n\r\nGET /close HTTP/1.1\r\nHost: h\r\n\r\n", 128 + 31},
		{"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n", 64 + 31},
		{"POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /n HTTP/1.1\r\nHost: h\r\n\r\nGET /m HTTP/1.1\r\nHost: h\r\n\r\n", 64 + 32 + 9},
		{"GET /u HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, close\r\nUpgrade: x\r\n\r\n" + strings.Repeat("raw", 50), 32 + 31},
		{"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("x", 17<<10) + "\r\n\r\n", 64 + 30},
		{"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: " + strings.Repeat("t", 17<<10) + "\r\n\r\n", 64 + 30},
	} {
		f.Add([]byte(seed.in), seed.piece)
	}
	f.Fuzz(func(t *testing.T, data []byte, piece byte) {
		var h *harness
		closedBy := "" // the request whose response closed the connection
		var states []ConnState
		input := append([]byte(nil), data...)
		consumed := 0          // bytes Received has taken
		served := 0            // requests Serve was given
		hijacked := false      // the connection is the hijacker's
		releasedInRun := false // the task running gave its worker's place away (/stream)
		var unconsumed []byte
		mem := buffers.NewMemory(1 << 30)
		if piece&64 != 0 {
			mem = buffers.NewMemory(1) // spent by the first byte held
		}
		h = newHarness(t, func(c *Config) {
			c.Memory = mem
			if piece&32 != 0 {
				c.MaxUnparsed = 100
			}
			c.ConnState = func(_ *Channel, s ConnState) {
				checkConnState(t, states, s)
				states = append(states, s)
			}
			serve := c.Serve
			c.Serve = func(ch *Channel, r *Request, release func()) bool {
				require.False(t, releasedInRun, "%v served on a goroutine that had left the pool", r.Value)
				require.Equal(t, StateActive, states[len(states)-1], "%v served while the connection is reported %v", r.Value, states)
				require.Empty(t, closedBy, "%v served after %s's response closed the connection", r.Value, closedBy)
				served++
				if r.Value == "/hijack" && piece < 128 {
					h.conn.held = string(unconsumed) // gnet's
					unread, err := playHijack(t, h)
					end := requestEnd(h.ch.site.Limits, input, served)
					if err == nil {
						require.Equal(t, end, consumed, "the hijacker got the socket with input read past its request: %q", h.heads)
						require.Equal(t, string(unconsumed), string(unread))
						hijacked = true
						return false
					}
					require.ErrorIs(t, err, ErrPipelined)
					require.Greater(t, consumed, end, "a hijack refused with nothing read past the request")
				}
				if !r.KeepAlive || r.Value == "/close" {
					closedBy = r.Value.(string)
				}
				left := r.Value == "/stream" && ch.Leave(release)
				serve(ch, r, nil)
				return left
			}
			c.Submit = func(tk interface{ Run() }) error {
				run := func() {
					releasedInRun = false
					tk.(interface{ RunReleasing(func()) }).RunReleasing(func() { releasedInRun = true })
				}
				if piece >= 128 {
					run()
					h.ch.Pump()
				} else {
					h.tasks = append(h.tasks, run)
				}
				return nil
			}
		})
		size := int(piece%32) + 1 // 32: all of it at once
		if size == 32 {
			size = max(len(data), 1)
		}
		var pending []byte
		refusedAt := -1 // requests NewRequest had seen when the refusal came
		for len(data) > 0 && !hijacked {
			k := min(size, len(data))
			pending = append(pending, data[:k]...)
			data = data[k:]
			n := h.ch.Received(pending)
			require.True(t, n >= 0 && n <= len(pending), "Received claimed %d of %d bytes", n, len(pending))
			consumed += n
			pending = append([]byte(nil), pending[n:]...)
			unconsumed = pending
			if is(h.ch.lf, refused) {
				if refusedAt < 0 {
					refusedAt = len(h.heads)
				}
				require.Nil(t, h.ch.rx, "a refused channel keeps no parser")
			}
			h.runTasks()
			if refusedAt >= 0 {
				require.Len(t, h.heads, refusedAt, "a request after the refusal reached NewRequest: %q", h.heads)
			}
		}
		if hijacked {
			require.Equal(t, StateHijacked, states[len(states)-1], "states %v", states)
			return
		}
		h.ch.Closed()
		require.Equal(t, StateClosed, states[len(states)-1], "states %v", states)
		require.Zero(t, mem.Held(), "counted against the memory budget after the close")
	})
}

// playHijack runs Hijack for the request being served on a goroutine of
// its own, playing the loop meanwhile (playLoop), and returns what the
// hijacker got.
func playHijack(t *testing.T, h *harness) ([]byte, error) {
	var (
		unread []byte
		err    error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, unread, _, err = h.ch.Hijack(nil)
	}()
	playLoop(t, h, done)
	return unread, err
}

// requestEnd is the offset in input just past its nth request (n from 1),
// by the parser alone.
func requestEnd(lim parser.Limits, input []byte, n int) int {
	p := parser.New(lim)
	off := 0
	for done := 0; done < n; {
		k, ev, _ := p.Parse(input[off:])
		off += k
		switch ev {
		case parser.EventDone:
			done++
		case parser.EventNeedMore, parser.EventError:
			return -1
		}
	}
	return off
}

// checkConnState fails t unless s may follow the states reported so far:
// new first, then active and idle in turn, closed last, nothing after it.
func checkConnState(t *testing.T, before []ConnState, s ConnState) {
	t.Helper()
	prev := ConnState(255)
	if len(before) > 0 {
		prev = before[len(before)-1]
	}
	ok := map[ConnState][]ConnState{
		255:         {StateNew},
		StateNew:    {StateActive, StateClosed},
		StateActive: {StateIdle, StateHijacked, StateClosed},
		StateIdle:   {StateActive, StateClosed},
	}[prev]
	require.Contains(t, ok, s, "state %v after %v", s, before)
}
