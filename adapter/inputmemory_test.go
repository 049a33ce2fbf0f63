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
