package channel

import (
	"bytes"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriterWaitsForFastClientInsteadOfSpilling: a handler writing a
// response bigger than OutbufOverflow waits for the loop while the socket
// takes everything it is offered, and spills to disk only once the socket
// backs up (a slow client), so that the worker is not held by it.
func TestWriterWaitsForFastClientInsteadOfSpilling(t *testing.T) {
	const chunks, size = 16, 64 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	for _, tc := range []struct {
		name     string
		outbound int // what the socket leaves unsent after each pump
		spilled  uint64
	}{
		{"fast client: no spill", 0, 0},
		{"slow client: spills", DefaultSendBytes, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bigResponse(t, chunk, chunks))
			h.conn.outbound = tc.outbound
			h.pumpBigResponse(t, func() {}, func() {
				h.conn.mu.Lock()
				h.conn.outbound = 0 // the client reads what is left
				h.conn.mu.Unlock()
			}, chunks*size)
			assert.Len(t, h.output(), chunks*size, "every byte reaches the socket, in order")
			assert.Equal(t, tc.spilled, h.ch.cfg.Counters.SpilledOutputs.Load())
			if tc.spilled > 0 {
				assert.Positive(t, h.conn.fromFile, "what spilled is sent from the file")
			} else {
				assert.Zero(t, h.conn.fromFile)
			}
		})
	}
}

// TestWriterFillingTheSocketIsNoSlowClient: when the worker's own
// write-through fills the socket, the pump that follows finds gnet unable
// to send anything, which says nothing of the client's speed; the writer
// waits for the next pump instead of spilling. A client that then takes
// nothing for a whole pump is slow, and the output spills.
func TestWriterFillingTheSocketIsNoSlowClient(t *testing.T) {
	const chunks, size = 16, 64 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	for _, tc := range []struct {
		name    string
		drains  bool // the client reads everything between pumps
		spilled uint64
	}{
		{"client keeps up", true, 0},
		{"client takes nothing", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bigResponse(t, chunk, chunks))
			// The socket takes one write of the worker's, then is full
			// until the client drains it; whatever the loop hands to gnet
			// meanwhile stays in gnet's buffer.
			full := false
			h.conn.tryWrite = func(p []byte) (int, error) {
				h.conn.mu.Lock()
				defer h.conn.mu.Unlock()
				if full {
					h.conn.outbound = DefaultSendBytes
					return 0, syscall.EAGAIN
				}
				full = true
				return h.conn.out.Write(p)
			}
			drain := func() { // the client reads everything
				h.conn.mu.Lock()
				full, h.conn.outbound = false, 0
				h.conn.mu.Unlock()
			}
			between := func() {}
			if tc.drains {
				between = drain
			}
			h.pumpBigResponse(t, between, drain, chunks*size)
			assert.Len(t, h.output(), chunks*size, "every byte reaches the socket, in order")
			assert.Equal(t, tc.spilled, h.ch.cfg.Counters.SpilledOutputs.Load())
		})
	}
}

// bigResponse configures a channel whose handler writes chunk n times,
// with output spilling past 128 KiB.
func bigResponse(t *testing.T, chunk []byte, n int) func(*Config) {
	return func(c *Config) {
		c.OutbufOverflow = 128 << 10
		c.TempDir = t.TempDir()
		c.Serve = func(ch *Channel, _ *Request) {
			for range n {
				if ch.Write(chunk) != nil {
					break
				}
			}
			ch.Finish(true)
		}
	}
}

// pumpBigResponse asks for /big, runs the worker on a goroutine of its own
// and plays the loop on this one: it pumps, calling between after each
// pump, until the worker is done; then calls drain (the client reads the
// rest) and pumps until want bytes are out.
func (h *harness) pumpBigResponse(t *testing.T, between, drain func(), want int) {
	t.Helper()
	h.ch.Received([]byte("GET /big HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.Len(t, h.tasks, 1)
	worker := h.tasks[0]
	h.tasks = nil
	done := make(chan struct{})
	go func() { defer close(done); worker() }()
	deadline := time.Now().Add(10 * time.Second)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
			require.True(t, time.Now().Before(deadline), "the worker finished")
			h.ch.Pump()
			between()
			time.Sleep(50 * time.Microsecond)
		}
	}
	drain()
	for time.Now().Before(deadline) && len(h.output()) < want {
		h.ch.Pump()
	}
}
