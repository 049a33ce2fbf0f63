package channel

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
)

// What the loop parses ahead of the request being served counts against
// the memory budget until a worker takes it, and a spent budget stops the
// parsing after one waiting request; every request is still answered, in
// order, and the budget is whole again at the end. The first request
// counts nothing: a server reading one request at a time holds it too.
func TestParseAheadCountsAgainstMemory(t *testing.T) {
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	const (
		pipelined = 5
		cost      = len(req) + requestCost // one waiting request's charge
		spent     = 100                    // held by others when the budget is spent
	)
	tests := []struct {
		name     string
		limit    int64
		others   int // bytes the budget holds for others before the client sends
		consumed int // by the first Received
		held     int // the client's part of the budget after it
	}{
		{"room: parses all ahead", 1 << 20, 0, pipelined * len(req), (pipelined - 1) * cost},
		// No worker has taken the first request yet: it is the one that
		// waits, and the rest stay unread.
		{"spent: parses one ahead", spent, spent, len(req), (pipelined - 1) * len(req)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(tt.limit)
			mem.Hold(tt.others)
			h := newHarness(t, func(c *Config) { c.Memory = mem })
			in := strings.Repeat(req, pipelined)

			n := h.ch.Received([]byte(in))
			assert.Equal(t, tt.consumed, n)
			assert.Equal(t, int64(tt.others+tt.held), mem.Held())

			for i := 0; i < 2*pipelined && n < len(in); i++ {
				h.runTasks()
				n += h.ch.Received([]byte(in[n:]))
			}
			h.runTasks()
			assert.Equal(t, len(in), n)
			assert.Equal(t, strings.Repeat("[/x ]", pipelined), h.output())
			assert.False(t, h.conn.closed)
			assert.Equal(t, int64(tt.others), mem.Held(), "everything the client held is given back")
		})
	}
}

// A request counts against the budget while it waits, not while a worker
// serves it.
func TestWorkerTakingARequestGivesBackItsCount(t *testing.T) {
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	mem := buffers.NewMemory(1 << 20)
	var seen []int64
	h := newHarness(t, func(c *Config) {
		c.Memory = mem
		c.Serve = plainServe(func(ch *Channel, r *Request) {
			seen = append(seen, mem.Held())
			ch.Finish(true) // writing nothing, which would count too
		})
	})
	require.Equal(t, 3*len(req), h.ch.Received([]byte(strings.Repeat(req, 3))))
	h.runTasks()
	cost := int64(len(req) + requestCost)
	assert.Equal(t, []int64{2 * cost, cost, 0}, seen, "what waits behind each request as a worker takes it")
	assert.Zero(t, mem.Held())
}

// The budget may be spent by others while a head arrives: the channel
// then stops parsing mid-head, and goes on with that head, not a new
// one, once a worker has taken what waits.
func TestBudgetSpentMidHead(t *testing.T) {
	mem := buffers.NewMemory(1 << 20)
	h := newHarness(t, func(c *Config) { c.Memory = mem })
	a, b := "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	require.Equal(t, len(a)+10, h.ch.Received([]byte(a+b[:10])), "/a queued, /b begun")
	mem.Hold(1 << 20) // others spend the budget
	assert.Zero(t, h.ch.Received([]byte(b[10:])), "no further ahead while /a waits")
	h.runTasks()
	assert.Equal(t, len(b)-10, h.ch.Received([]byte(b[10:])))
	h.runTasks()
	assert.Equal(t, "[/a ][/b ]", h.output())
	mem.Release(1 << 20)
	assert.Zero(t, mem.Held())
}

// A worker that finishes the last waiting request while the loop is in
// Received for an earlier wake, behind a fence, must wake the loop again:
// the loop decided to read no further while that request waited, and a
// wake deduplicated against the one being handled left the rest of the
// input unread until the idle timeout closed the connection (the soak's
// pipelined clients, once the budget was spent by others).
func TestFinishDuringReceivedWakesTheLoop(t *testing.T) {
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	mem := buffers.NewMemory(1)
	mem.Hold(1) // spent: one request waits at most
	defer mem.Release(1)
	h := newHarness(t, func(c *Config) { c.Memory = mem })
	runOne := func() {
		require.NotEmpty(t, h.tasks)
		task := h.tasks[0]
		h.tasks = h.tasks[1:]
		task()
	}
	in := strings.Repeat(req, 3)
	n := h.ch.Received([]byte(in))
	require.Equal(t, len(req), n, "the first waits; the rest is fenced")
	runOne() // the first is answered, and the loop woken for the rest
	// The loop handles that wake: it parses the second, which waits.
	n += h.ch.Received([]byte(in[n:]))
	require.Equal(t, 2*len(req), n)
	wakes := h.conn.wakes
	runOne() // before the loop's Pump: the second is answered
	assert.Greater(t, h.conn.wakes, wakes, "the loop is woken for the third")
	h.ch.Pump()
	n += h.ch.Received([]byte(in[n:]))
	h.runTasks()
	assert.Equal(t, len(in), n)
	assert.Equal(t, strings.Repeat("[/x ]", 3), h.output())
}

// A client that leaves input unread behind the requests parsed ahead is
// cut off past MaxUnparsed, or past unparsedFloor once the memory budget
// is spent, with one warning; what it held goes back when it closes.
func TestUnparsedInputCountsAgainstMemory(t *testing.T) {
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	tests := []struct {
		name        string
		limit       int64
		maxUnparsed int
		unread      int
		cutOff      bool
	}{
		{"room, within MaxUnparsed", 1 << 30, 1 << 20, 200 << 10, false},
		{"room, past MaxUnparsed", 1 << 30, 100 << 10, 200 << 10, true},
		{"spent, within the floor", 1, 1 << 20, unparsedFloor, false},
		{"spent, past the floor", 1, 1 << 20, unparsedFloor + 1, true},
		{"spent by the unread input itself", 150 << 10, 1 << 20, 200 << 10, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(tt.limit)
			warnings := new(atomic.Int32)
			h := newHarness(t, func(c *Config) {
				c.Memory, c.MaxPipelined, c.MaxUnparsed = mem, 1, tt.maxUnparsed
				c.Logger = slog.New(countWarnings{warnings})
			})
			// MaxPipelined 1: the first request is queued, and everything
			// after it waits unread.
			in := req + strings.Repeat("x", tt.unread)
			n := h.ch.Received([]byte(in))
			assert.Equal(t, tt.cutOff, h.conn.closed)
			if tt.cutOff {
				assert.Equal(t, len(in), n, "what a client cut off sent is dropped, not kept")
				assert.Equal(t, len(in), h.ch.Received([]byte(in)), "and what it sends before gnet closes")
				assert.Equal(t, int32(1), warnings.Load(), "logged once")
			} else {
				assert.Equal(t, len(req), n)
				assert.Equal(t, int64(tt.unread), mem.Held(), "the unread input, and nothing for the request first in line")
				assert.Zero(t, warnings.Load())
			}
			h.ch.Closed()
			assert.Zero(t, mem.Held())
		})
	}
}

// A head still arriving counts against the budget, and while the budget
// is spent one past headFloor is refused with 503: a thousand clients
// sending heads of 256 KiB slowly would hold 256 MiB. A head that
// arrives whole is never held half-received, and is parsed as usual.
func TestPartialHeadCountsAgainstMemory(t *testing.T) {
	tests := []struct {
		name    string
		limit   int64
		others  int // bytes the budget holds for others
		pad     int // size of the header field
		partial bool
		refused bool
	}{
		{"room: a large head arriving", 1 << 20, 0, 200 << 10, true, false},
		{"spent: a head within the floor", 100, 100, headFloor - 100, true, false},
		{"spent: a head past the floor", 100, 100, headFloor, true, true},
		{"spent: a large head arriving whole", 100, 100, 100 << 10, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(tt.limit)
			mem.Hold(tt.others)
			h := newHarness(t, func(c *Config) { c.Memory = mem })
			head := "GET /x HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("p", tt.pad) + "\r\n\r\n"
			sent := head
			if tt.partial {
				sent = head[:len(head)-2]
			}
			assert.Equal(t, len(sent), h.ch.Received([]byte(sent)))
			if tt.refused {
				h.runTasks()
				assert.Equal(t, "[503 too busy to buffer a request head this large]", h.output())
				assert.Equal(t, int64(tt.others), mem.Held(), "the refused head is given back")
				return
			}
			if tt.partial {
				assert.Equal(t, int64(tt.others+len(sent)), mem.Held(), "the head so far")
				assert.Equal(t, 2, h.ch.Received([]byte("\r\n")))
			}
			assert.Equal(t, int64(tt.others), mem.Held(), "a complete head is the request's, which waits behind none")
			h.runTasks()
			assert.Equal(t, "[/x ]", h.output())
		})
	}
}

// A request that waits behind another counts its trailers with its head:
// the adapter copies them into r.Trailer.
func TestWaitingRequestCountsItsTrailers(t *testing.T) {
	mem := buffers.NewMemory(1 << 20)
	var copied []parser.Header
	h := newHarness(t, func(c *Config) {
		c.Memory = mem
		c.Trailers = func(_ *Request, t []parser.Header) { copied = append(copied, t...) }
	})
	first := "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	head := "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	trailers := "X-Sum: 0123456789\r\nX-Other: " + strings.Repeat("t", 1000) + "\r\n"
	in := first + head + "0\r\n" + trailers + "\r\n"
	require.Equal(t, len(in), h.ch.Received([]byte(in)))
	require.Len(t, copied, 2)
	fields := len("X-Sum") + len("0123456789") + len("X-Other") + 1000
	assert.Equal(t, int64(len(head)+fields+requestCost), mem.Held(), "the second waits: its head, trailers and state")
	h.runTasks()
	assert.Equal(t, "[/a ][/b ]", h.output())
	assert.Zero(t, mem.Held())
}

// A chunked body's trailer section arriving counts as a head does, and
// past headFloor while the budget is spent it is refused the same way.
func TestPartialTrailersCountAgainstMemory(t *testing.T) {
	tests := []struct {
		name    string
		limit   int64
		others  int
		pad     int // size of the trailer field
		refused bool
	}{
		{"room: large trailers arriving", 1 << 20, 0, 50 << 10, false},
		{"spent: trailers within the floor", 100, 100, headFloor - 100, false},
		{"spent: trailers past the floor", 100, 100, headFloor, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(tt.limit)
			mem.Hold(tt.others)
			h := newHarness(t, func(c *Config) { c.Memory = mem })
			head := "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
			require.Equal(t, len(head), h.ch.Received([]byte(head)))
			base := mem.Held() // the others' and the body's
			require.Equal(t, int64(tt.others+len("abc")), base)
			lastLine := "0\r\nX-Pad: " + strings.Repeat("p", tt.pad)
			assert.Equal(t, len(lastLine), h.ch.Received([]byte(lastLine)))
			if tt.refused {
				h.runTasks()
				assert.Equal(t, "[503 too busy to buffer request trailers this large]", h.output())
				assert.Equal(t, int64(tt.others), mem.Held(), "the refused trailers are given back")
				return
			}
			trailers := len(lastLine) - len("0\r\n")
			assert.Equal(t, base+int64(trailers), mem.Held(), "the trailers so far")
			assert.Equal(t, 4, h.ch.Received([]byte("\r\n\r\n")))
			assert.Equal(t, base, mem.Held(), "complete trailers are the request's")
			h.runTasks()
			assert.Contains(t, h.output(), "/x")
		})
	}
}

// Input behind a client's last request, an Upgrade, waits for the
// hijacker unparsed, after the parser went back to its pool: it counts
// all the same.
func TestInputBehindALastUpgradeCounts(t *testing.T) {
	mem := buffers.NewMemory(1 << 20)
	h := newHarness(t, func(c *Config) { c.Memory = mem })
	up := "GET /u HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, close\r\nUpgrade: x\r\n\r\n"
	require.Equal(t, len(up), h.ch.Received([]byte(up)))
	require.Nil(t, h.ch.rx, "the parser went back")
	raw := "raw bytes of another protocol"
	assert.Zero(t, h.ch.Received([]byte(raw)), "left for the hijacker")
	assert.Equal(t, int64(len(raw)), mem.Held())
	h.ch.Closed()
	assert.Zero(t, mem.Held())
}

// Requests a worker never took, unread input and a head arriving go back
// to the budget when the connection closes, and input that comes after
// the close counts nothing.
func TestClosedGivesBackWhatItCounted(t *testing.T) {
	const req = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
	tests := []struct {
		name     string
		in       string
		consumed int
		held     int
	}{
		{"parsed ahead and unread", strings.Repeat(req, 6), 3 * len(req), 2*(len(req)+requestCost) + 3*len(req)},
		{"a head arriving", req[:20], 20, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(1 << 20)
			h := newHarness(t, func(c *Config) { c.Memory, c.MaxPipelined = mem, 3 })
			require.Equal(t, tt.consumed, h.ch.Received([]byte(tt.in)))
			require.Equal(t, int64(tt.held), mem.Held())
			h.ch.Closed()
			assert.Zero(t, mem.Held())
			h.ch.Received([]byte(tt.in[tt.consumed:] + req))
			assert.Zero(t, mem.Held(), "after the close")
			assert.Empty(t, h.output(), "no worker ran")
		})
	}
}

// Output handed to gnet stays in memory until the socket takes it, and
// the budget does not count it: while the budget is spent a pump hands
// gnet sendFloor at a time instead of SendBytes, so that a slow client
// makes the server hold less of it.
func TestPumpHandsGnetLessWhenMemorySpent(t *testing.T) {
	tests := []struct {
		name  string
		spent bool
		gnet  int // what gnet holds after the pump, the socket taking nothing
	}{
		{"room", false, DefaultSendBytes},
		{"spent", true, sendFloor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(4 << 20)
			h := stalledHarness(t, func(c *Config) { c.Memory = mem })
			if tt.spent {
				mem.Hold(4 << 20) // by others
				defer mem.Release(4 << 20)
			}
			h.ch.Pump()
			assert.Equal(t, tt.gnet, h.conn.OutboundBuffered())
			for i := 0; i < 100 && h.ch.outLen() > 0; i++ {
				h.conn.clientReads(16 * DefaultSendBytes)
				h.ch.Pump()
			}
			assert.Equal(t, stalledBytes, h.conn.out.Len(), "every byte goes out all the same")
		})
	}
}

// Output a pump hands gnet stays in memory until the socket takes it: it
// counts as it did in the output buffer, until a pump finds it sent or
// the connection closes.
func TestOutputGnetHoldsCountsAgainstMemory(t *testing.T) {
	tests := []struct {
		name   string
		closes bool // the connection closes while gnet holds output
	}{
		{"read to the end", false},
		{"closed while gnet holds output", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := buffers.NewMemory(1 << 30)
			h := stalledHarness(t, func(c *Config) { c.Memory = mem })
			require.Equal(t, int64(stalledBytes), mem.Held(), "the response, in the output buffer")
			// The first pump after a worker filled the socket records
			// less than gnet holds (Pump, on filled); the next records
			// what it holds.
			h.ch.Pump()
			h.ch.Pump()
			require.Equal(t, DefaultSendBytes, h.conn.OutboundBuffered())
			assert.Equal(t, int64(stalledBytes), mem.Held(), "what gnet took still counts")
			if tt.closes {
				h.ch.Closed()
				assert.Zero(t, mem.Held())
				return
			}
			for i := 0; i < 100 && (h.ch.outLen() > 0 || h.conn.OutboundBuffered() > 0); i++ {
				h.conn.clientReads(DefaultSendBytes)
				h.ch.Pump()
				assert.Equal(t, h.ch.outLen()+int64(h.conn.OutboundBuffered()), mem.Held(), "after %d reads", i+1)
			}
			assert.Equal(t, stalledBytes, h.conn.out.Len())
			assert.Zero(t, mem.Held())
		})
	}
}

// countWarnings counts the records at Warn and above.
type countWarnings struct{ n *atomic.Int32 }

func (c countWarnings) Enabled(context.Context, slog.Level) bool { return true }
func (c countWarnings) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		c.n.Add(1)
	}
	return nil
}
func (c countWarnings) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c countWarnings) WithGroup(string) slog.Handler      { return c }
