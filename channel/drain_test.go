package channel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDrainClosesIdleUnlessInputPending: a drain closes a connection as
// soon as it is idle, unless the client's next request has reached the
// socket unread: closing then would reset it, and the client could not
// tell whether it ran. That request is read and answered, and the
// connection closes after it.
func TestDrainClosesIdleUnlessInputPending(t *testing.T) {
	const (
		first  = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
		second = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
	)
	tests := []struct {
		name    string
		pending bool
		want    string // the output once the drain is done
	}{
		{"nothing sent: closed at once", false, "[/a ]"},
		{"a request in the socket: answered, then closed", true, "[/a ][/b hi]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.ch.Received([]byte(first))
			h.runTasks()
			assert.False(t, h.conn.closed, "kept alive")

			h.conn.pending = tt.pending
			h.ch.Drain()
			h.ch.Pump()
			assert.Equal(t, !tt.pending, h.conn.closed)
			if tt.pending {
				// The loop's read event: what was pending is handed over.
				h.conn.pending = false
				h.ch.Received([]byte(second))
				h.runTasks()
				h.ch.Pump()
			}
			assert.True(t, h.conn.closed, "closed once idle with nothing pending")
			assert.Equal(t, tt.want, h.output())
		})
	}
}

// TestQueuedSeesWhatFollows: while a request is served, Queued reports
// whether the client has more behind it, parsed or not.
func TestQueuedSeesWhatFollows(t *testing.T) {
	const one = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	tests := []struct {
		name         string
		maxPipelined int
		in           string
		// early: the worker starts, and asks, before Received returns
		early bool
		want  bool
	}{
		{"alone", 0, one, false, false},
		{"alone, asked before Received returns", 0, one, true, false},
		{"a complete request queued behind", 0, one + one, false, true},
		{"a complete request behind, asked before it is parsed", 0, one + one, true, true},
		{"a request being received behind", 0, one + "GET /b HTTP/1.1\r\nHo", false, true},
		{"input held past the parse-ahead limit", 1, one + one + one, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var queued []bool
			h := newHarness(t, func(c *Config) {
				if tt.maxPipelined > 0 {
					c.MaxPipelined = tt.maxPipelined
				}
				c.Serve = plainServe(func(ch *Channel, r *Request) {
					queued = append(queued, ch.Queued())
					ch.Finish(true)
				})
				if tt.early {
					c.Submit = func(task interface{ Run() }) error { task.Run(); return nil }
				}
			})
			h.ch.Received([]byte(tt.in))
			if !tt.early {
				require.NotEmpty(t, h.tasks)
				h.tasks[0]()
			}
			require.NotEmpty(t, queued)
			assert.Equal(t, tt.want, queued[0], "while serving the first")
		})
	}
}
