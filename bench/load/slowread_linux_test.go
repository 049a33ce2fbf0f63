package load

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What slowReadMSS is for: how much of a 4 MiB response a net/http
// handler gets into the kernel for a reader that reads nothing, with
// loopback's segment size and with a real network's. With 1,460 the
// handler must wait for the reader long before a megabyte; the figures
// (go test -v -run TestSegmentSizeBoundsWhatTheKernelTakes ./bench/load)
// are in docs/benchmarks.md, "Slow readers".
func TestSegmentSizeBoundsWhatTheKernelTakes(t *testing.T) {
	const size = 4 << 20
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		chunk := make([]byte, 32<<10)
		for range size / len(chunk) {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	taken := map[int]int64{}
	for _, mss := range []int{-1, slowReadMSS} {
		written.Store(0)
		// A read an hour: the reader takes nothing during the test.
		s, err := startSlowReaders(t.Context(), srv.Listener.Addr().String(), 1,
			SlowReadConfig{MSS: mss, Chunk: 1, Every: time.Hour})
		require.NoError(t, err)
		// Settled: the handler has written all it can.
		last, still := int64(-1), 0
		for i := 0; i < 200 && still < 5; i++ {
			time.Sleep(20 * time.Millisecond)
			if n := written.Load(); n == last {
				still++
			} else {
				last, still = n, 0
			}
		}
		s.stop()
		taken[mss] = last
		t.Logf("MSS %d: the handler wrote %d bytes before it waited", mss, last)
	}
	assert.Less(t, taken[slowReadMSS], int64(1<<20), "with a real network's segments a 1 MiB response waits for its reader")
	assert.Less(t, taken[slowReadMSS], taken[-1], "loopback's segments let the kernel take more")
}
