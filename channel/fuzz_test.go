package channel

import (
	"testing"

	"github.com/stretchr/testify/require"
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
	} {
		f.Add([]byte(seed.in), seed.piece)
	}
	f.Fuzz(func(t *testing.T, data []byte, piece byte) {
		var h *harness
		closedBy := "" // the request whose response closed the connection
		var states []ConnState
		h = newHarness(t, func(c *Config) {
			c.ConnState = func(_ *Channel, s ConnState) {
				checkConnState(t, states, s)
				states = append(states, s)
			}
			serve := c.Serve
			c.Serve = func(ch *Channel, r *Request) {
				require.Equal(t, StateActive, states[len(states)-1], "%v served while the connection is reported %v", r.Value, states)
				require.Empty(t, closedBy, "%v served after %s's response closed the connection", r.Value, closedBy)
				if !r.KeepAlive || r.Value == "/close" {
					closedBy = r.Value.(string)
				}
				serve(ch, r)
			}
			if piece >= 128 {
				c.Submit = func(t interface{ Run() }) error { t.Run(); h.ch.Pump(); return nil }
			}
		})
		size := int(piece%32) + 1 // 32: all of it at once
		if size == 32 {
			size = max(len(data), 1)
		}
		var pending []byte
		refusedAt := -1 // requests NewRequest had seen when the refusal came
		for len(data) > 0 {
			k := min(size, len(data))
			pending = append(pending, data[:k]...)
			data = data[k:]
			n := h.ch.Received(pending)
			require.True(t, n >= 0 && n <= len(pending), "Received claimed %d of %d bytes", n, len(pending))
			pending = append([]byte(nil), pending[n:]...)
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
		h.ch.Closed()
		require.Equal(t, StateClosed, states[len(states)-1], "states %v", states)
	})
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
