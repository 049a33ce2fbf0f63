package reliability

import (
	"bufio"
	"fmt"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
)

// TestRefusalReachesClientStillSending: a client uploading a body the
// server refuses (413 here, on the head) goes on sending after the answer
// is out. Had the server closed, its kernel would answer that data with a
// reset, and the client would read "connection reset" where the response
// ends (or, on some systems, lose the response). The server half-closes
// and drains instead: the client reads the exact 413 and then end of file.
func TestRefusalReachesClientStillSending(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h, adapter.WithMaxRequestBodySize(1<<10))
	for i := range 5 {
		assert.Equal(t, refused(413, "request body too large"), elideDate(uploadPastAnswer(t, s.addr, i)), "attempt %d", i)
	}
	assert.Empty(t, h.rec.take()[1:], "no refused request ran")
	l.afterFault(t, s, base)
}

// uploadPastAnswer starts a 64 MiB upload, waits for the server's answer
// to begin, goes on sending 256 KiB of body (the server must still be
// reading), and returns the whole answer, which must end in end of file
// and not a reset.
func uploadPastAnswer(t *testing.T, addr string, attempt int) string {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	_, err := fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", 64<<20)
	require.NoError(t, err)
	r := bufio.NewReader(c)
	_, err = r.Peek(1) // the answer is out: the server is done with this connection
	require.NoError(t, err)
	for range 4 {
		_, err = c.Write(make([]byte, 64<<10))
		require.NoError(t, err, "attempt %d: the server still reads", attempt)
	}
	rest, err := io.ReadAll(r)
	require.NoError(t, err, "attempt %d: end of file, not a reset", attempt)
	return string(rest)
}
