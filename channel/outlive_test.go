package channel

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestChannelOutlivesItsInput: when the client's input ends, a channel
// that owes responses moves to the Conn it is given and answers every
// complete request there, its requests' contexts ended as at a close,
// then closes; one that owes nothing stays put and closes as usual.
func TestChannelOutlivesItsInput(t *testing.T) {
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }
	tests := []struct {
		name     string
		in       string
		answered bool // the worker answers before the input ends
		outlives bool
		want     string // output on the new Conn
	}{
		{name: "owes nothing", in: get("/a"), answered: true},
		{name: "one request queued", in: get("/a"), outlives: true, want: "[/a ]"},
		{
			// MaxPipelined is 2: /c waits unparsed when the input ends.
			name: "requests parsed after the end", in: get("/a") + get("/b") + get("/c"),
			outlives: true, want: "[/a ][/b ][/c ]",
		},
		{
			name: "a request cut short", in: get("/a") + "GET /b HTTP/1.1\r\nHo",
			outlives: true, want: "[/a ]",
		},
		{
			// The worker answered /a and /b before the loop parsed /c.
			name: "every parsed request answered, one unparsed", in: get("/a") + get("/b") + get("/c"),
			answered: true, outlives: true, want: "[/c ]",
		},
		{
			name: "every request answered, part of one unparsed", in: get("/a") + get("/b") + "GET /c HTTP/1.1\r\nHo",
			answered: true, outlives: true, want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cancelled []string
			h := newHarness(t, func(c *Config) {
				c.MaxPipelined = 2
				c.Cancel = func(r *Request) { cancelled = append(cancelled, r.Value.(string)) }
			})
			in := []byte(tc.in)
			in = in[h.ch.Received(in):]
			if tc.answered {
				h.runTasks()
			}
			before, answered := h.output(), 0
			if tc.answered {
				answered = len(h.heads)
			}
			unparsed := len(in) > 0
			assert.Equal(t, tc.outlives, h.ch.Owes(unparsed))
			orphan := &fakeConn{}
			assert.Equal(t, tc.outlives, h.ch.Outlive(orphan, unparsed))
			if !tc.outlives {
				assert.Zero(t, h.ch.site.Counters.InputEnded.Load())
				return
			}
			assert.EqualValues(t, 1, h.ch.site.Counters.InputEnded.Load())
			// The new Conn's owner plays the loop: input first, then pumps.
			for range 5 {
				in = in[h.ch.Received(in):]
				h.runTasks()
				h.ch.Pump()
			}
			assert.Empty(t, in, "input left unparsed at the end is parsed after it")
			assert.Equal(t, before, h.output(), "nothing more on the old Conn")
			orphan.mu.Lock()
			assert.Equal(t, tc.want, orphan.out.String())
			assert.True(t, orphan.closed, "closed once every complete request is answered")
			orphan.mu.Unlock()
			assert.False(t, h.conn.closed, "the old Conn is the loop's to close")
			assert.Equal(t, h.heads[answered:], append([]string{}, cancelled...),
				"every request answered after the end had its context ended")
		})
	}
}
