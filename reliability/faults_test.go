package reliability

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
)

// faultHandler serves the recorder's fixed responses, and on some paths
// misbehaves on purpose.
type faultHandler struct {
	rec      recorder
	entered  chan string   // the path of each misbehaving request, as it starts
	release  chan struct{} // closed to let blocked handlers go on
	writeErr chan error    // the error a late writer got
	returned atomic.Int32  // misbehaving handlers that have returned
}

func newFaultHandler() *faultHandler {
	return &faultHandler{entered: make(chan string, 8), release: make(chan struct{}), writeErr: make(chan error, 8)}
}

func (h *faultHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/panic":
		panic("boom")
	case "/panic-after-write":
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/big": // 16 MiB: spills past the output overflow and fills the socket
		defer h.returned.Add(1)
		h.entered <- r.URL.Path
		buf := make([]byte, 64<<10)
		for range 256 {
			if _, err := w.Write(buf); err != nil {
				h.writeErr <- err
				return
			}
		}
		h.writeErr <- nil
	case "/late": // writes 2 MiB once the client has gone
		defer h.returned.Add(1)
		h.entered <- r.URL.Path
		<-r.Context().Done()
		_, err := w.Write(make([]byte, 2<<20))
		h.writeErr <- err
	case "/block": // blocks until released, then writes
		defer h.returned.Add(1)
		h.entered <- r.URL.Path
		<-h.release
		_, err := io.WriteString(w, "too late")
		if err == nil {
			err = http.NewResponseController(w).Flush()
		}
		h.writeErr <- err
	default:
		h.rec.ServeHTTP(w, r)
	}
}

// faultServer starts a server with small spill thresholds in a fresh
// temporary directory, warms it with one request, and returns it with
// the leak watch and the descriptor count of the idle, warm server.
func faultServer(t *testing.T, h http.Handler, opts ...adapter.Option) (*server, *leakWatch, int) {
	t.Helper()
	return faultServerIn(t, t.TempDir(), h, opts...)
}

// faultServerIn is faultServer with dir as the temporary directory.
func faultServerIn(t *testing.T, dir string, h http.Handler, opts ...adapter.Option) (*server, *leakWatch, int) {
	t.Helper()
	l := watchLeaks(t, dir)
	opts = append([]adapter.Option{adapter.WithTempDir(dir), adapter.WithInbufOverflow(4 << 10),
		adapter.WithOutbufOverflow(256 << 10), adapter.WithOutbufHighWatermark(1 << 20)}, opts...)
	s := start(t, h, opts...)
	require.Equal(t, okClose("/last"), elideDate(get(t, s.addr)))
	return s, l, waitFDs(t)
}

// waitFDs returns the descriptor count once the client side of the last
// exchange has closed (the test's own sockets count too).
func waitFDs(t *testing.T) int {
	t.Helper()
	last := countFDs(t)
	settle(func() bool {
		n := countFDs(t)
		same := n == last
		last = n
		return same
	})
	return last
}

// reset closes c with SO_LINGER 0: the kernel sends RST, not FIN.
func reset(t *testing.T, c *net.TCPConn) {
	t.Helper()
	require.NoError(t, c.SetLinger(0))
	require.NoError(t, c.Close())
}

// stillServes asserts that a new client is served normally.
// afterFault is how every fault test ends: nothing leaked while the
// server runs, it still serves, and nothing is left once it stops.
func (l *leakWatch) afterFault(t *testing.T, s *server, base int) {
	t.Helper()
	l.running(t, base)
	stillServes(t, s)
	s.stop(t)
	l.stopped(t)
}

func stillServes(t *testing.T, s *server) {
	t.Helper()
	assert.Equal(t, okClose("/last"), elideDate(get(t, s.addr)), "the server still serves")
}

func TestResetMidRequestHead(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\nX-Long: ")
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond) // the server has read it
	reset(t, c)
	l.afterFault(t, s, base)
	assert.Equal(t, []string{"/last", "/last"}, h.rec.take(), "the cut request never ran")
}

func TestResetMidBody(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1048576\r\n\r\n")
	require.NoError(t, err)
	_, err = c.Write(make([]byte, 64<<10))
	require.NoError(t, err)
	// The body went past the 4 KiB in-memory allowance: a temporary file
	// is open. That is what must not outlive the connection.
	require.True(t, settle(func() bool { return tempFiles(t, l.dir) == 1 }), "the body spilled")
	reset(t, c)
	l.afterFault(t, s, base)
	assert.Equal(t, []string{"/last", "/last"}, h.rec.take(), "the cut request never ran")
}

func TestResetMidResponse(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	// Several times: whether the event loop learns of the reset from a
	// read or from a failing write depends on timing, and both must hold.
	for range 5 {
		c := dial(t, s.addr)
		_, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
		require.NoError(t, err)
		<-h.entered
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		_, err = io.CopyN(io.Discard, resp.Body, 512<<10)
		require.NoError(t, err)
		reset(t, c)
		select {
		case err := <-h.writeErr:
			assert.Error(t, err, "the handler's writes fail once the client is gone")
		case <-time.After(10 * time.Second):
			t.Fatal("the handler writing to a reset client was never released")
		}
	}
	l.afterFault(t, s, base)
}

// A client that half-closes after its request gets the whole response and
// then end of file, though gnet closes its connection at EOF (the channel
// outlives it: docs/design.md, "When the input ends"), and nothing leaks.
func TestHalfClosedClient(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	require.NoError(t, c.CloseWrite())
	got := elideDate(readAll(t, c))
	assert.Equal(t, ok("/a"), got, "the whole response, then end of file")
	require.NoError(t, c.Close())
	l.afterFault(t, s, base)
}

func TestHandlerPanics(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)

	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /panic HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"X-Content-Type-Options: nosniff\r\nDate: *\r\nServer: carhop\r\n"+
		"Content-Length: 22\r\nConnection: close\r\n\r\nInternal Server Error\n", elideDate(readAll(t, c)),
		"a panic before the response began is a 500, and the connection closes")
	require.NoError(t, c.Close())

	c = dial(t, s.addr)
	_, err = io.WriteString(c, "GET /panic-after-write HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a response cut short by a panic cannot pass for a whole one")
	assert.Equal(t, "partial", string(body))

	require.NoError(t, c.Close())
	l.afterFault(t, s, base)
}

func TestHandlerWritesAfterClientLeft(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /late HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	<-h.entered
	require.NoError(t, c.Close())
	select {
	case err := <-h.writeErr:
		assert.Error(t, err, "a write after the client left fails")
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context never ended")
	}
	l.afterFault(t, s, base)
}

func TestHandlerBlocksPastShutdownGrace(t *testing.T) {
	h := newFaultHandler()
	s, l, _ := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /block HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	<-h.entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
	assert.Empty(t, readAll(t, c), "the connection is closed at the deadline, with nothing sent")
	select {
	case err := <-s.served:
		assert.ErrorIs(t, err, http.ErrServerClosed)
		close(s.served)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the grace period")
	}
	// The handler outlives the server; once it goes on, its writes fail
	// and it returns, and then nothing of the server is left.
	close(h.release)
	select {
	case err := <-h.writeErr:
		assert.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the released handler did not finish")
	}
	require.True(t, settle(func() bool { return h.returned.Load() == 1 }))
	require.NoError(t, c.Close())
	l.stopped(t)
}

// A temporary directory that cannot be written: a body that must spill is
// refused with 500 "cannot buffer request body" and close; a response that
// must spill is cut short (its head is out, so no status can change) and
// the handler's Write fails. Small requests go on being served.
func TestUnwritableTempDir(t *testing.T) {
	h := newFaultHandler()
	dir := filepath.Join(t.TempDir(), "missing")
	l := watchLeaks(t, dir)
	s := start(t, h, adapter.WithTempDir(dir), adapter.WithInbufOverflow(4<<10),
		adapter.WithOutbufOverflow(256<<10), adapter.WithOutbufHighWatermark(1<<20))
	stillServes(t, s)
	base := waitFDs(t)

	c := dial(t, s.addr)
	_, err := io.WriteString(c, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 8192\r\n\r\n"+strings.Repeat("x", 8192))
	require.NoError(t, err)
	assert.Equal(t, refused(500, "cannot buffer request body"), elideDate(readAll(t, c)))
	assert.Empty(t, h.rec.take()[1:], "the request whose body could not be kept never ran")
	require.NoError(t, c.Close())

	// A response spills only once the socket backs up: this client reads
	// nothing until the handler has been told.
	c = dial(t, s.addr)
	_, err = io.WriteString(c, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	require.NoError(t, err)
	<-h.entered
	select {
	case err := <-h.writeErr:
		assert.ErrorContains(t, err, "cannot spill")
	case <-time.After(10 * time.Second):
		t.Fatal("the handler was not told")
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	n, err := io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "a cut response cannot pass for a whole one")
	assert.Less(t, n, int64(16<<20))
	require.NoError(t, c.Close())
	require.True(t, settle(func() bool { return countFDs(t) <= base }), "descriptors back to idle")
	stillServes(t, s)
	s.stop(t)
	l.stopped(t)
}

// A client that sends a request with Expect: 100-continue and its body,
// and resets at once: the server may find the socket reset when it writes
// the 100 Continue, while the body is still to be parsed. Several times,
// as the timing decides which path the server takes.
func TestResetAfterExpectContinue(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	for range 20 {
		c := dial(t, s.addr)
		_, err := io.WriteString(c, "PUT /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata")
		require.NoError(t, err)
		reset(t, c)
	}
	l.afterFault(t, s, base)
	h.rec.take()
}

// A refusal waiting behind a running request when the client goes away
// is dropped with the other queued requests; it was never a handler's
// request, so there is no handler context to cancel. This took the whole
// server down (a nil type assertion on the event loop) until the channel
// stopped handing refusals to Config.Cancel; found by the soak
// (bench/soak), whose interrupted clients close mid-pipeline.
func TestClientGoneWithRefusalQueued(t *testing.T) {
	h := newFaultHandler()
	s, l, base := faultServer(t, h)
	c := dial(t, s.addr)
	_, err := io.WriteString(c, "GET /block HTTP/1.1\r\nHost: h\r\n\r\nGET /a HTTP/1.1\nHost: h\n\n")
	require.NoError(t, err)
	require.Equal(t, "/block", <-h.entered)
	time.Sleep(50 * time.Millisecond) // the server has parsed and queued the refusal
	reset(t, c)
	require.True(t, settle(func() bool { return s.Stats().Connections == 0 }), "the event loop has seen the reset")
	close(h.release)
	assert.Error(t, <-h.writeErr, "the blocked handler's client is gone")
	l.afterFault(t, s, base)
	assert.Equal(t, []string{"/last", "/last"}, h.rec.take())
}
