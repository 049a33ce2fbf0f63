package channel

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stateLog records Config.ConnState's reports.
type stateLog struct {
	mu     sync.Mutex
	states []string
}

func (l *stateLog) hook(_ *Channel, s ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, [...]string{"new", "active", "idle", "hijacked", "closed"}[s])
}

func (l *stateLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.states, " ")
}

// TestChannelConnState drives the loop and worker steps by hand, so that
// each interleaving that decides a report is the one named.
func TestChannelConnState(t *testing.T) {
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }
	for _, tt := range []struct {
		name  string
		steps func(h *harness)
		want  string
	}{
		{"one request", func(h *harness) {
			h.ch.Received([]byte(get("/a")))
			h.runTasks()
		}, "new active idle closed"},
		{"a request arriving in pieces is active once", func(h *harness) {
			in := get("/a")
			h.ch.Received([]byte(in[:5]))
			h.ch.Received([]byte(in[5:]))
			h.runTasks()
		}, "new active idle closed"},
		{"pipelined in one read: idle, then active at once", func(h *harness) {
			h.ch.Received([]byte(get("/a") + get("/b")))
			h.runTasks()
		}, "new active idle active idle closed"},
		{"the next head arrives while the first is served", func(h *harness) {
			h.ch.Received([]byte(get("/a")))
			h.ch.Received([]byte(get("/b"))) // the worker has not run yet
			h.runTasks()
		}, "new active idle active idle closed"},
		{"half a head when the first is answered stays idle", func(h *harness) {
			in := get("/b")
			h.ch.Received([]byte(get("/a") + in[:5]))
			h.runTasks()
			h.ch.Received([]byte(in[5:]))
			h.runTasks()
		}, "new active idle active idle closed"},
		{"a response that closes is not followed by idle", func(h *harness) {
			h.ch.Received([]byte(get("/close")))
			h.runTasks()
		}, "new active closed"},
		{"a bad request behind a good one", func(h *harness) {
			h.ch.Received([]byte(get("/a") + "GET /b HTTP/1.1\r\nBad Name: x\r\n\r\n"))
			h.runTasks()
		}, "new active idle active closed"},
		{"a connection that sends nothing", func(*harness) {}, "new closed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log := &stateLog{}
			h := newHarness(t, func(c *Config) { c.ConnState = log.hook })
			tt.steps(h)
			h.ch.Closed()
			h.ch.Closed() // reported once
			assert.Equal(t, tt.want, log.String())
		})
	}
}

// The hook may close the connection it is told about, although it runs
// with the channel's mutex held; the client's address it may ask for
// from anywhere, even once the socket layer has let go of its own.
func TestChannelConnStateHookCloses(t *testing.T) {
	var addr net.Addr
	h := newHarness(t, func(c *Config) {
		c.ConnState = func(ch *Channel, s ConnState) {
			if s == StateActive {
				addr = ch.ConnRemoteAddr()
				ch.Disconnect()
			}
		}
	})
	h.ch.Received([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.Eventually(t, func() bool {
		h.conn.mu.Lock()
		defer h.conn.mu.Unlock()
		return h.conn.closed
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, "192.0.2.1:1234", addr.String())
}

// ConnValue is made once, when the connection opens, before StateNew,
// and every goroutine sees the same value.
func TestChannelConnValue(t *testing.T) {
	var order []string
	h := newHarness(t, func(c *Config) {
		c.ConnValue = func(ch *Channel) any {
			order = append(order, "value")
			return ch.ConnRemoteAddr().String()
		}
		c.ConnState = func(_ *Channel, s ConnState) {
			if s == StateNew {
				order = append(order, "new")
			}
		}
	})
	assert.Equal(t, []string{"value", "new"}, order)
	got := make(chan any)
	go func() { got <- h.ch.ConnValue() }()
	assert.Equal(t, "192.0.2.1:1234", <-got)
}

// A head the loop parses after a response closed the connection is
// dropped, not served: the connection does not become active again.
// Tasks run inside Submit here, so the worker finishes while the loop is
// still in the input that holds the next head (FuzzChannelReceived found
// a second StateActive there).
func TestChannelConnStateNothingAfterClosingResponse(t *testing.T) {
	log := &stateLog{}
	var h *harness
	h = newHarness(t, func(c *Config) {
		c.ConnState = log.hook
		c.Submit = func(t interface{ Run() }) error { t.Run(); h.ch.Pump(); return nil }
	})
	h.ch.Received([]byte("GET /close HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"))
	h.ch.Closed()
	assert.Equal(t, "new active closed", log.String())
	assert.Equal(t, "[/close ]", h.output())
}
