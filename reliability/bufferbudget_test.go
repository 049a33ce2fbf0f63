package reliability

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/bench/load"
)

// bufferMemoryEnv sets the child's WithBufferMemory (runChild).
const bufferMemoryEnv = "CARHOP_RELIABILITY_BUFFER_MEMORY"

// Many slow readers of large responses cost the server memory for each
// (what it holds for them), unless WithBufferMemory bounds the sum: the
// same 100 readers of 1 MiB responses, reading nothing, grow the
// server's resident set by a fraction of what they grow it without one.
func TestBufferMemoryBoundsManySlowReaders(t *testing.T) {
	const readers, size, budget = 100, 1 << 20, 4 << 20
	load := func(addr string) func() {
		ctx, cancel := context.WithCancel(context.Background())
		// A read an hour: they take nothing during the test, and announce
		// a real network's segments so that the kernel does not take the
		// responses off the server (load.SlowReadConfig).
		stop, err := load.SlowReaders(ctx, addr, readers,
			load.SlowReadConfig{Path: "/download?n=" + strconv.Itoa(size), Every: time.Hour})
		require.NoError(t, err)
		return func() {
			require.Equal(t, readers, stop().Opened)
			cancel()
		}
	}
	without := residentGrowth(t, load)
	with := residentGrowth(t, load, bufferMemoryEnv+"="+strconv.Itoa(budget))
	t.Logf("%d slow readers of %d KiB grew the server's resident set by %d MiB without a buffer budget, %d MiB with %d MiB",
		readers, size>>10, without>>20, with>>20, budget>>20)
	assert.Less(t, 3*with, without, "the budget bounds what the readers make the server hold")
}

// Clients that pipeline large requests to a handler that does not answer
// make the server hold what it parses ahead and what it leaves unread
// (gnet reads it all), up to MaxPipelined heads and MaxUnparsed bytes
// each, unless the budget counts them: past it a connection parses one
// request ahead, and a client leaving more than 64 KiB unread is cut off.
func TestBufferMemoryBoundsPipelinedRequests(t *testing.T) {
	const clients, requests, pad, budget = 50, 17, 64 << 10, 1 << 20
	var one bytes.Buffer
	fmt.Fprintf(&one, "GET /wait HTTP/1.1\r\nHost: h\r\nX-Pad: %s\r\n\r\n", strings.Repeat("p", pad))
	payload := bytes.Repeat(one.Bytes(), requests)
	load := func(addr string) func() {
		conns := make([]net.Conn, clients)
		var writers sync.WaitGroup
		for i := range conns {
			c, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			conns[i] = c
			writers.Go(func() {
				// Cut off or not, the client writes what it can in 10 s.
				_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				_, _ = c.Write(payload)
			})
		}
		return func() {
			for _, c := range conns {
				_ = c.Close()
			}
			writers.Wait()
		}
	}
	unbounded := residentGrowth(t, load, bufferMemoryEnv+"="+strconv.Itoa(1<<30))
	with := residentGrowth(t, load, bufferMemoryEnv+"="+strconv.Itoa(budget))
	t.Logf("%d clients pipelining %d requests of %d KiB grew the server's resident set by %d MiB with a 1 GiB buffer budget, %d MiB with %d MiB",
		clients, requests, pad>>10, unbounded>>20, with>>20, budget>>20)
	assert.Less(t, 3*with, unbounded, "the budget bounds what pipelining clients make the server hold")
}

// residentGrowth starts a child server with env, puts load on it, and
// returns how far its resident set grew once it stopped growing.
func residentGrowth(t *testing.T, load func(addr string) (stop func()), env ...string) int64 {
	t.Helper()
	srv := startChild(t, os.Stderr, append(env, childEnv+"=1", "TMPDIR="+t.TempDir())...)
	pid := srv.cmd.Process.Pid
	before := residentSet(t, pid)
	stop := load(srv.addr)
	defer stop()
	// The server holds what the load makes it hold once its resident set
	// stops growing: by less than 512 KiB in each of five 100 ms samples
	// (the race detector's runtime keeps it moving a little; bounded: 20 s).
	last, still := residentSet(t, pid), 0
	for i := 0; i < 200 && still < 5; i++ {
		time.Sleep(100 * time.Millisecond)
		n := residentSet(t, pid)
		if n-last < 512<<10 {
			still++
		} else {
			still = 0
		}
		last = n
	}
	srv.alive(t, &srv.rest)
	return last - before
}
