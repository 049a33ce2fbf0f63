package adapter

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client pipelining large requests behind one its handler has not
// answered makes the server hold what it parses ahead and what it leaves
// unread; both count against WithBufferMemory, and past it the client is
// cut off (Stats.CutOff), while others are served as before and the
// budget is whole again once it is gone.
func TestPipeliningPastTheBudgetIsCutOff(t *testing.T) {
	const budget, pad, requests = 256 << 10, 32 << 10, 20
	release := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}), WithBufferMemory(budget))
	t.Cleanup(func() { close(release) }) // before the server's own cleanup, which drains

	heavy := "GET /wait HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("p", pad) + "\r\n\r\n"
	greedy := dial(t, addr)
	_, _ = greedy.c.Write([]byte(strings.Repeat(heavy, requests))) // fails once it is cut off
	assert.True(t, greedy.closed(), "the client that pipelined past the budget is disconnected")
	require.Eventually(t, func() bool { return s.Stats().CutOff == 1 }, 10*time.Second, time.Millisecond,
		"counted: %+v", s.Stats())

	other := dial(t, addr)
	other.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := other.response(http.MethodGet)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok", body)

	assert.Eventually(t, func() bool { return s.Stats().BufferedBytes == 0 }, 10*time.Second, time.Millisecond,
		"what the greedy client held is given back: %+v", s.Stats())
	assert.Equal(t, uint64(1), s.Stats().CutOff)
}

// Heads still arriving count against WithBufferMemory too: once it is
// spent, a client whose head passes 16 KiB gets 503 and the connection
// closes, while those that arrived before it wait for their heads' ends.
func TestLargeHeadsPastTheBudgetAreRefused(t *testing.T) {
	const budget, head, before = 256 << 10, 60 << 10, 4
	s, addr := start(t, http.HandlerFunc(hello), WithBufferMemory(budget))
	partial := "GET /x HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("p", head)

	early := make([]*raw, before)
	for i := range early {
		early[i] = dial(t, addr)
		early[i].send(partial)
	}
	require.Eventually(t, func() bool { return s.Stats().BufferedBytes >= before*head }, 10*time.Second, time.Millisecond,
		"the heads so far are counted: %+v", s.Stats())

	late := dial(t, addr)
	late.send(partial)
	resp, _ := late.response(http.MethodGet)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.True(t, late.closed())
	assert.Equal(t, uint64(1), s.Stats().Refused[http.StatusServiceUnavailable])

	for _, c := range early {
		c.send("\r\n\r\n")
		resp, body := c.response(http.MethodGet)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "Hello, x!", body)
	}
	assert.Eventually(t, func() bool { return s.Stats().BufferedBytes == 0 }, 10*time.Second, time.Millisecond,
		"nothing counted once the heads are requests: %+v", s.Stats())
}
