package reliability

import (
	"context"
	"os"
	"strconv"
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
	grow := func(env ...string) int64 {
		srv := startChild(t, os.Stderr, append(env, childEnv+"=1", "TMPDIR="+t.TempDir())...)
		pid := srv.cmd.Process.Pid
		before := residentSet(t, pid)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// A read an hour: they take nothing during the test, and announce
		// a real network's segments so that the kernel does not take the
		// responses off the server (load.SlowReadConfig).
		stop, err := load.SlowReaders(ctx, srv.addr, readers,
			load.SlowReadConfig{Path: "/download?n=" + strconv.Itoa(size), Every: time.Hour})
		require.NoError(t, err)
		defer stop()
		// The handlers have written what they can once the resident set
		// stops growing: by less than 512 KiB in each of five 100 ms
		// samples (the race detector's runtime keeps it moving a little;
		// bounded: 20 s).
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
		require.Equal(t, readers, stop().Opened)
		return last - before
	}
	without := grow()
	with := grow(bufferMemoryEnv + "=" + strconv.Itoa(budget))
	t.Logf("%d slow readers of %d KiB grew the server's resident set by %d MiB without a buffer budget, %d MiB with %d MiB",
		readers, size>>10, without>>20, with>>20, budget>>20)
	assert.Less(t, 3*with, without, "the budget bounds what the readers make the server hold")
}
