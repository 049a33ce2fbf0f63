package reliability

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
)

// unavailable is the exact answer to a connection over the limit.
const unavailable = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nservice unavailable\n"

func TestConnectionLimitExact(t *testing.T) {
	const limit = 3
	h := &recorder{}
	s := start(t, h, adapter.WithConnectionLimit(limit))
	var open []io.ReadWriteCloser
	for range limit {
		c := dial(t, s.addr)
		_, err := io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
		require.NoError(t, err)
		buf := make([]byte, len(ok("/a"))+64)
		n, err := c.Read(buf)
		require.NoError(t, err)
		require.Equal(t, ok("/a"), elideDate(string(buf[:n])), "connections up to the limit are served")
		open = append(open, c)
	}
	// The answer comes at accept, before any request.
	over := dial(t, s.addr)
	assert.Equal(t, unavailable, readAll(t, over), "the (limit+1)th connection")

	// A freed slot is reused: the server counts closes, not just opens.
	require.NoError(t, open[0].Close())
	served := false
	for i := 0; i < 100 && !served; i++ {
		c := dial(t, s.addr)
		_, _ = io.WriteString(c, closing)
		got, err := io.ReadAll(c)
		served = err == nil && elideDate(string(got)) == okClose("/last")
		if !served {
			require.Equal(t, unavailable, string(got))
			time.Sleep(20 * time.Millisecond)
		}
	}
	assert.True(t, served, "a slot freed by a client that left is given to a new one")
	h.take()
}

// TestLimitRefusalReachesClientStillSending: a client over the limit
// sends its request as it connects, and goes on sending a body after the
// 503 is out. Had the server closed the socket with that input unread,
// its kernel would answer with a reset, and the client would lose the 503
// or read "connection reset" after it. The refusal lingers instead: the
// client reads the exact 503, then end of file.
func TestLimitRefusalReachesClientStillSending(t *testing.T) {
	h := &recorder{}
	s := start(t, h, adapter.WithConnectionLimit(1))
	first := dial(t, s.addr)
	_, err := io.WriteString(first, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	_, err = first.Read(make([]byte, 512))
	require.NoError(t, err, "the connection within the limit is served")

	for i := range 5 {
		assert.Equal(t, unavailable, uploadPastAnswer(t, s.addr, i), "attempt %d", i)
	}
	assert.Len(t, h.take(), 1, "only the first connection's request ran")
}
