package channel

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCountersFollowTraffic(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		inbuf       int
		outbuf      int
		requests    uint64
		refused     map[int]uint64
		spilledBody uint64
		spilledOut  uint64
	}{
		{"two served", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n", 0, 0, 2, map[int]uint64{}, 0, 0},
		{"one served, then one refused", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/9.9\r\nHost: h\r\n\r\n", 0, 0, 1, map[int]uint64{505: 1}, 0, 0},
		{"a body past InbufOverflow spills", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 64\r\n\r\n" + strings.Repeat("x", 64), 16, 0, 1, map[int]uint64{}, 1, 0},
		// Regression: the output's file is closed once drained, and the
		// count was taken after that, so a response that spilled and was
		// sent in full was never counted (found by the soak, bench/soak).
		{"a response past OutbufOverflow spills", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 64\r\n\r\n" + strings.Repeat("x", 64), 0, 16, 1, map[int]uint64{}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				c.InbufOverflow = tt.inbuf
				c.OutbufOverflow = tt.outbuf
				c.TempDir = t.TempDir()
			})
			h.ch.Received([]byte(tt.in))
			h.runTasks()
			c := h.ch.site.Counters
			assert.Equal(t, tt.requests, c.Requests.Load())
			assert.Equal(t, tt.refused, c.Refused())
			assert.Equal(t, tt.spilledBody, c.SpilledBodies.Load())
			assert.Equal(t, tt.spilledOut, c.SpilledOutputs.Load())
			assert.Equal(t, uint64(len(h.output())), c.BytesOut.Load(), "every byte written is counted once")
		})
	}
}

func TestCountersIgnoreStatusesOutOfRange(t *testing.T) {
	var c Counters
	c.Refuse(200)
	c.Refuse(600)
	c.Refuse(413)
	assert.Equal(t, map[int]uint64{413: 1}, c.Refused())
	var none *Counters
	none.Refuse(400) // a nil Counters counts nothing and does not panic
}
