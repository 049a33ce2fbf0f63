package channel

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
