package reliability

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
)

// timeoutServer has a short request timeout and a long idle timeout, so
// that which of the two fired is visible.
func timeoutServer(t *testing.T, h http.Handler) *server {
	return start(t, h, adapter.WithRequestTimeout(300*time.Millisecond),
		adapter.WithChannelTimeout(20*time.Second), adapter.WithCleanupInterval(50*time.Millisecond))
}

func TestSlowHeadGets408(t *testing.T) {
	h := &recorder{}
	s := timeoutServer(t, h)
	c := dial(t, s.addr)
	for _, b := range []string{"GET /a HTTP/1.1\r\n", "Host: h\r\n", "X: "} {
		_, err := io.WriteString(c, b)
		require.NoError(t, err)
		time.Sleep(150 * time.Millisecond) // each byte resets no clock
	}
	assert.Equal(t, refused(408, "request timeout"), elideDate(readAll(t, c)))
	assert.Empty(t, h.take())
}

func TestSlowBodyGets408(t *testing.T) {
	h := &recorder{}
	s := timeoutServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
	require.NoError(t, err)
	for range 4 {
		_, err := io.WriteString(c, "x")
		require.NoError(t, err)
		time.Sleep(150 * time.Millisecond)
	}
	assert.Equal(t, refused(408, "request timeout"), elideDate(readAll(t, c)))
	assert.Empty(t, h.take())
}

// A keep-alive connection idle after a request with a body is governed by
// the idle timeout, not the request timeout: no 408 for a request that was
// answered long ago.
func TestIdleAfterBodyIsNotARequestTimeout(t *testing.T) {
	h := &recorder{}
	s := timeoutServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
	require.NoError(t, err)
	buf := make([]byte, len(ok("/a"))+64)
	n, err := c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, ok("/a"), elideDate(string(buf[:n])))
	time.Sleep(700 * time.Millisecond) // more than twice the request timeout
	_, err = io.WriteString(c, closing)
	require.NoError(t, err)
	assert.Equal(t, okClose("/last"), elideDate(readAll(t, c)))
	assert.Equal(t, []string{"/a", "/last"}, h.take())
}

// A client that takes none of its response is disconnected after the write
// timeout, and the handler paused on its output is released with an error:
// a worker is never held by a slow reader for longer than that.
func TestNonReadingClientIsCutOff(t *testing.T) {
	werr := make(chan error, 1)
	rec := &recorder{}
	s := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			rec.ServeHTTP(w, r)
			return
		}
		buf := make([]byte, 64<<10)
		for range 1024 { // 64 MiB, far more than the watermark and the kernel buffers
			if _, err := w.Write(buf); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}), adapter.WithChannelTimeout(500*time.Millisecond), adapter.WithCleanupInterval(50*time.Millisecond),
		adapter.WithOutbufHighWatermark(1<<20), adapter.WithOutbufOverflow(256<<10), adapter.WithTempDir(t.TempDir()))
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	select {
	case err := <-werr:
		require.Error(t, err, "the handler's write fails once the client is cut off")
	case <-time.After(15 * time.Second):
		t.Fatal("the paused handler was never released")
	}
	// Whatever the kernel had buffered, the stream then ends.
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.Copy(io.Discard, c)
	require.NoError(t, err, "the connection ends, it does not hang")
	assert.Equal(t, okClose("/last"), elideDate(get(t, s.addr)), "the server still serves")
}
