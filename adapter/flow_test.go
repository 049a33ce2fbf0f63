package adapter

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSlowReaderPausesHandler checks the output high watermark: a handler
// writing 48 MiB to a client that reads nothing is paused long before it
// has written it all, and resumes, losing nothing, once the client reads.
// With a chunked response, what the client has not taken spills to a
// temporary file on the way (and goes out with sendfile); with a declared
// length far beyond the watermark, spilling would not free the worker, so
// the output waits in memory (channel.Write).
func TestSlowReaderPausesHandler(t *testing.T) {
	const total, chunk = 48 << 20, 64 << 10
	for _, tc := range []struct {
		name    string
		length  bool // declare a Content-Length
		flush   bool // flush every write: a stream, which leaves the pool
		spilled int  // spill files open while the handler is paused
		// The writer of a declared length waits in memory until the rest
		// fits under the watermark, and then spills that tail if the
		// socket backs up: a client reading fast may still fall behind
		// there on a loaded machine.
		tailMaySpill bool
	}{
		{"chunked", false, false, 1, false},
		{"declared length", true, false, 0, true},
		// A stream holds no worker, so spilling its output would free
		// none: it waits with the overflow in memory.
		{"flushed stream", false, true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var written atomic.Int64
			dir := t.TempDir()
			s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.length {
					w.Header().Set("Content-Length", strconv.Itoa(total))
				}
				buf := make([]byte, chunk)
				for i := 0; i < total/chunk; i++ {
					fill(buf, i)
					if _, err := w.Write(buf); err != nil {
						return
					}
					if tc.flush {
						w.(http.Flusher).Flush()
					}
					written.Add(chunk)
				}
			}), WithOutbufHighWatermark(1<<20), WithOutbufOverflow(256<<10), WithTempDir(dir))

			c := dial(t, addr)
			c.send("GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
			resp, err := http.ReadResponse(c.r, nil)
			require.NoError(t, err)
			defer resp.Body.Close()

			// Wait until the handler stops making progress (bounded: 200 polls).
			last, still := int64(-1), 0
			for i := 0; i < 200 && still < 5; i++ {
				time.Sleep(20 * time.Millisecond)
				if n := written.Load(); n == last {
					still++
				} else {
					last, still = n, 0
				}
			}
			require.Equal(t, 5, still, "handler never paused")
			t.Logf("handler paused after %d KiB", last>>10)
			// Kernel socket buffers on loopback hold at most a few MiB each way;
			// everything beyond them and the 1 MiB watermark must wait.
			assert.Less(t, last, int64(24<<20), "handler ran ahead of a client that reads nothing")
			if n, ok := openFilesUnder(dir); ok {
				assert.Equal(t, tc.spilled, n, "spill files open while the handler is paused")
			}

			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			require.NoError(t, err)
			assert.Equal(t, int64(total), n)
			want := sha256.New()
			buf := make([]byte, chunk)
			for i := 0; i < total/chunk; i++ {
				fill(buf, i)
				want.Write(buf)
			}
			assert.Equal(t, want.Sum(nil), h.Sum(nil))
			if tc.spilled > 0 {
				// The part that went through the temporary file (and so
				// through sendfile, from the file to the socket) arrived
				// intact too.
				assert.Eventually(t, func() bool { return s.Stats().SpilledOutputs == 1 }, 5*time.Second, time.Millisecond, "the response spilled: %+v", s.Stats())
			} else if !tc.tailMaySpill {
				assert.Zero(t, s.Stats().SpilledOutputs)
			}
		})
	}
}

// openFilesUnder counts this process's open files in dir (spill files are
// unlinked as soon as they are made, so only their descriptors show
// them), and reports false where /proc/self/fd does not exist.
func openFilesUnder(dir string) (int, bool) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			n++
		}
	}
	return n, true
}

// fill makes chunk i distinguishable from every other, so that a lost,
// repeated or reordered chunk changes the digest.
func fill(buf []byte, i int) {
	for j := 0; j+8 <= len(buf); j += 8 {
		binary.LittleEndian.PutUint64(buf[j:], uint64(i)<<32|uint64(j))
	}
}

// TestDownloadAfterQuietSpell: a server that has been quiet lets its
// ticker doze until the next sweep of the timeouts (a minute here), and a
// response that then backs up the socket must still be polled on time:
// the pump's poll wakes the ticker. Without that wake the download stalls
// until the sweep, past the client's deadline.
func TestDownloadAfterQuietSpell(t *testing.T) {
	const total, chunk = 16 << 20, 64 << 10
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(total))
		buf := make([]byte, chunk)
		for i := range total / chunk {
			fill(buf, i)
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}), WithCleanupInterval(time.Minute))
	time.Sleep(100 * time.Millisecond) // a fresh server's first tick finds it quiet, and dozes

	c := dial(t, addr) // a 20 s deadline
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, err := http.ReadResponse(c.r, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	time.Sleep(300 * time.Millisecond) // read nothing for a while: the socket fills, and the rest waits for polls
	want := sha256.New()
	buf := make([]byte, chunk)
	for i := range total / chunk {
		fill(buf, i)
		want.Write(buf)
	}
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(total), n)
	assert.Equal(t, want.Sum(nil), got.Sum(nil))
}
