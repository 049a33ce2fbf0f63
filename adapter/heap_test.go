package adapter

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdleConnectionHeap is the measurement behind docs/performance.md's
// live heap per idle connection, not a check: it opens n keep-alive
// connections (one request each), collects garbage, and writes a heap
// profile in which every allocation is sampled, so that the server's
// share per connection can be read by function:
//
//	CARHOP_IDLE_HEAP=5000 go test -run TestIdleConnectionHeap -v ./adapter/
//	go tool pprof -sample_index=inuse_space -top adapter.test /tmp/carhop-idle-heap.prof
//
// (divide the server-side entries, gnet's newStreamConn and friends,
// channel.New and loop.(*Server).OnOpen, by n.)
func TestIdleConnectionHeap(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CARHOP_IDLE_HEAP"))
	if n <= 0 {
		t.Skip("set CARHOP_IDLE_HEAP=<connections> to measure")
	}
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	_, addr := start(t, http.HandlerFunc(hello))
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReaderSize(c, 16), nil)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
	}
	time.Sleep(500 * time.Millisecond) // let the loop return parsers and buffers to their pools
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	f, err := os.Create(os.TempDir() + "/carhop-idle-heap.prof")
	require.NoError(t, err)
	require.NoError(t, pprof.WriteHeapProfile(f))
	require.NoError(t, f.Close())
	t.Logf("live heap per idle connection, server and client together: %d B; profile in %s",
		(int64(after.HeapAlloc)-int64(before.HeapAlloc))/int64(n), f.Name())
}
