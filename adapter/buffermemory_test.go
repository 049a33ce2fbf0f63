//go:build linux

package adapter

import (
	"bufio"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/channel/buffers"
)

// dialSlowReader connects as a client on a real network would (a
// 1,460-byte segment, a 16 KiB receive buffer): on loopback's 64 KiB
// segments the kernel would take a whole megabyte off the server.
func dialSlowReader(t *testing.T, addr string) *raw {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
			if err == nil {
				err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 1460)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

// Slow readers together cannot make the server keep more of their
// responses in memory than WithBufferMemory, plus a floor each: the rest
// goes to temporary files, the handlers finish all the same, and every
// byte arrives once the clients read.
func TestBufferMemoryBoundsSlowReaders(t *testing.T) {
	const readers, size, limit = 8, 1 << 20, 256 << 10
	body := make([]byte, size)
	for i := range body {
		body[i] = byte(i * 7)
	}
	want := sha256.Sum256(body)
	var done atomic.Int64
	dir := t.TempDir()
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		defer done.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for p := body; len(p) > 0; p = p[64<<10:] {
			if _, err := w.Write(p[:64<<10]); err != nil {
				return
			}
		}
	}), WithBufferMemory(limit), WithTempDir(dir))
	require.Equal(t, int64(limit), s.Stats().BufferMemoryLimit)

	conns := make([]*raw, readers)
	for i := range conns {
		conns[i] = dialSlowReader(t, addr)
		conns[i].send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	}
	require.Eventually(t, func() bool { return done.Load() == readers }, 10*time.Second, time.Millisecond,
		"the handlers finish while their clients read nothing: %+v", s.Stats())
	st := s.Stats()
	// Beyond the budget each keeps its floor, and what the loop handed
	// gnet before the budget was spent (up to twice a pump's offer).
	assert.LessOrEqual(t, st.BufferedBytes, int64(limit+readers*(buffers.MemoryFloor+2*channel.DefaultSendBytes)),
		"memory held for the slow readers")
	assert.Positive(t, st.BufferMemoryDenied, "the budget sent output to disk")

	for i, c := range conns {
		resp, err := http.ReadResponse(c.r, nil)
		require.NoError(t, err)
		h := sha256.New()
		n, err := io.Copy(h, resp.Body)
		require.NoError(t, err, "reader %d", i)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, int64(size), n, "reader %d", i)
		assert.Equal(t, want[:], h.Sum(nil), "reader %d", i)
	}
	assert.Eventually(t, func() bool { st := s.Stats(); return st.BufferedBytes == 0 && st.SpilledOutputs > 0 }, 5*time.Second, time.Millisecond,
		"memory given back once the responses are sent, which spilled: %+v", s.Stats())
}
