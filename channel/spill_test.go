package channel

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriterWaitsForFastClientInsteadOfSpilling: a handler writing a
// response bigger than OutbufOverflow waits for the loop while the socket
// takes everything it is offered, and spills to disk only once the socket
// backs up (a slow client), so that the worker is not held by it.
func TestWriterWaitsForFastClientInsteadOfSpilling(t *testing.T) {
	const chunks, size = 16, 64 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	for _, tc := range []struct {
		name     string
		outbound int // what the socket leaves unsent after each pump
		spilled  uint64
	}{
		{"fast client: no spill", 0, 0},
		{"slow client: spills", DefaultSendBytes, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bigResponse(t, chunk, chunks, unknown))
			h.conn.outbound = tc.outbound
			h.pumpBigResponse(t, func() {}, func() {
				h.conn.mu.Lock()
				h.conn.outbound = 0 // the client reads what is left
				h.conn.mu.Unlock()
			}, chunks*size)
			assertChunksInOrder(t, h.output(), size, chunks)
			assert.Equal(t, tc.spilled, h.ch.site.Counters.SpilledOutputs.Load())
			if tc.spilled > 0 {
				assert.Positive(t, h.conn.fromFile, "what spilled is sent from the file")
			} else {
				assert.Zero(t, h.conn.fromFile)
			}
		})
	}
}

// TestWriterFillingTheSocketIsNoSlowClient: when the worker's own
// write-through fills the socket, the pump that follows finds gnet unable
// to send anything, which says nothing of the client's speed; the writer
// waits for the next pump instead of spilling. A client that then takes
// nothing for a whole pump is slow, and the output spills.
func TestWriterFillingTheSocketIsNoSlowClient(t *testing.T) {
	const chunks, size = 16, 64 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	for _, tc := range []struct {
		name    string
		drains  bool // the client reads everything between pumps
		spilled uint64
	}{
		{"client keeps up", true, 0},
		{"client takes nothing", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, bigResponse(t, chunk, chunks, unknown))
			// The socket takes one write of the worker's, then is full
			// until the client drains it; whatever the loop hands to gnet
			// meanwhile stays in gnet's buffer.
			full := false
			h.conn.tryWrite = func(p []byte) (int, error) {
				h.conn.mu.Lock()
				defer h.conn.mu.Unlock()
				if full {
					h.conn.outbound = DefaultSendBytes
					return 0, syscall.EAGAIN
				}
				full = true
				return h.conn.out.Write(p)
			}
			drain := func() { // the client reads everything
				h.conn.mu.Lock()
				full, h.conn.outbound = false, 0
				h.conn.mu.Unlock()
			}
			between := func() {}
			if tc.drains {
				between = drain
			}
			h.pumpBigResponse(t, between, drain, chunks*size)
			assertChunksInOrder(t, h.output(), size, chunks)
			assert.Equal(t, tc.spilled, h.ch.site.Counters.SpilledOutputs.Load())
		})
	}
}

// TestWriterSpillsOnlyWhatFreesIt: to a slow client, output past
// OutbufOverflow spills so that the worker can finish. A response the
// handler has said is longer than the high watermark would pause the
// worker anyway: it waits with OutbufOverflow in memory instead, and only
// the tail that lets it finish goes through the disk. A stream whose
// handler holds no worker (Endless) frees nothing by spilling or by
// running ahead: it waits with a pump's worth in memory.
func TestWriterSpillsOnlyWhatFreesIt(t *testing.T) {
	const chunks, size, watermark = 32, 64 << 10, 512 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	for _, tc := range []struct {
		name    string
		rest    rest
		minFile int
		maxFile int
	}{
		{"length unknown: spills", unknown, 1, chunks * size},
		{"length known: spills no more than the tail", exact, 0, watermark},
		{"endless: never spills", endless, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) {
				bigResponse(t, chunk, chunks, tc.rest)(c)
				c.OutbufHighWatermark = watermark
			})
			h.conn.limited = true
			var inMemory int64 // the most output held in memory before any spilled
			h.pumpBigResponse(t, func() {
				h.ch.mu.Lock()
				if h.ch.out != nil && !h.ch.out.HasSpilled() {
					inMemory = max(inMemory, h.ch.out.Len())
				}
				h.ch.mu.Unlock()
				h.conn.clientReads(size) // a client that reads a chunk a pump
			}, func() { h.conn.clientReads(chunks * size) }, chunks*size)
			assertChunksInOrder(t, h.output(), size, chunks)
			// How much spills depends on when the worker runs against the
			// pumps; a known length bounds it, and its tail may not spill
			// at all if the client keeps up at the end.
			switch spilled := h.ch.site.Counters.SpilledOutputs.Load(); tc.rest {
			case exact:
				assert.LessOrEqual(t, spilled, uint64(1))
			case unknown:
				assert.Equal(t, uint64(1), spilled)
			case endless:
				assert.Zero(t, spilled)
			}
			assert.GreaterOrEqual(t, h.conn.fromFile, tc.minFile, "bytes sent from the spill file")
			assert.LessOrEqual(t, h.conn.fromFile, tc.maxFile, "bytes sent from the spill file")
			allowed := h.ch.site.OutbufOverflow
			if tc.rest == endless {
				allowed = h.ch.site.SendBytes // a pump's worth: the writer holds no worker
			}
			assert.LessOrEqual(t, inMemory, int64(allowed+size), "memory held while waiting")
		})
	}
}

// rest is what a handler tells Write is still to come.
type rest int

const (
	unknown rest = iota // -1: chunked
	exact               // the bytes left, as for a declared Content-Length
	endless             // Endless: a stream whose handler left the pool
)

// TestEndlessWriterWaitsWithAPumpsWorth: a stream's writer (Endless),
// whose client stops reading for a while, waits with no more than a
// pump's worth (SendBytes) in memory and one write beside it, never
// OutbufOverflow, and spills nothing.
func TestEndlessWriterWaitsWithAPumpsWorth(t *testing.T) {
	const chunks, size = 64, 16 << 10
	h := newHarness(t, bigResponse(t, bytes.Repeat([]byte("x"), size), chunks, endless))
	h.conn.limited = true
	var most int64
	pumps := 0
	h.pumpBigResponse(t, func() {
		h.ch.mu.Lock()
		if h.ch.out != nil {
			most = max(most, h.ch.out.Len())
		}
		h.ch.mu.Unlock()
		if pumps++; pumps > 20 { // the client reads nothing for the first 20 pumps
			h.conn.clientReads(size)
		}
	}, func() { h.conn.clientReads(chunks * size) }, chunks*size)
	assertChunksInOrder(t, h.output(), size, chunks)
	assert.Zero(t, h.ch.site.Counters.SpilledOutputs.Load())
	assert.Greater(t, h.ch.site.OutbufOverflow, h.ch.site.SendBytes+size, "the test tells the two apart")
	assert.LessOrEqual(t, most, int64(h.ch.site.SendBytes+size), "memory held while the client read nothing")
}

// bigResponse configures a channel whose handler writes chunk n times,
// with output spilling past 128 KiB, telling Write what is to follow.
func bigResponse(t *testing.T, chunk []byte, n int, r rest) func(*Config) {
	return func(c *Config) {
		c.OutbufOverflow = 128 << 10
		c.TempDir = t.TempDir()
		c.Serve = plainServe(func(ch *Channel, _ *Request) {
			for i := range n {
				more := int64(-1)
				switch r {
				case exact:
					more = int64((n - 1 - i) * len(chunk))
				case endless:
					more = Endless
				}
				p := slices.Clone(chunk)
				copy(p, fmt.Sprintf("%08d", i)) // so that order shows
				if ch.Write(p, more) != nil {
					break
				}
			}
			ch.Finish(true)
		})
	}
}

// assertChunksInOrder checks that out is the n chunks of size bytes that
// bigResponse wrote, in order.
func assertChunksInOrder(t *testing.T, out string, size, n int) {
	t.Helper()
	require.Len(t, out, n*size, "every byte reaches the socket")
	for i := range n {
		require.Equal(t, fmt.Sprintf("%08d", i), out[i*size:i*size+8], "chunk %d in its place", i)
	}
}

// pumpBigResponse asks for /big, runs the worker on a goroutine of its own
// and plays the loop on this one: it pumps, calling between after each
// pump, until the worker is done; then calls drain (the client reads the
// rest) and pumps until want bytes are out.
func (h *harness) pumpBigResponse(t *testing.T, between, drain func(), want int) {
	t.Helper()
	done := h.startRequest(t, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	// Between pumps the worker runs until it waits for the loop or is
	// done, as it would on an idle machine: on a loaded one the pumps
	// could otherwise outrun it, keep its output below OutbufOverflow and
	// make what spills a matter of scheduling.
	deadline := h.pumpUntil(t, done, func() { h.settle(t, done); between() }, "the worker finished")
	drain()
	for time.Now().Before(deadline) && len(h.output()) < want {
		h.ch.Pump()
	}
}

// startRequest feeds request to the channel and runs the worker task it
// queues on a goroutine of its own, as the pool would; the channel
// returned closes when the worker is done.
func (h *harness) startRequest(t *testing.T, request string) <-chan struct{} {
	t.Helper()
	h.ch.Received([]byte(request))
	require.Len(t, h.tasks, 1)
	worker := h.tasks[0]
	h.tasks = nil
	done := make(chan struct{})
	go func() { defer close(done); worker() }()
	return done
}

// pumpUntil plays the loop while a worker runs on a goroutine of its own:
// it pumps, calls between, and pauses briefly, until c is closed, for at
// most 10 seconds (then fails with what). It returns that deadline, for
// what the test does next.
func (h *harness) pumpUntil(t *testing.T, c <-chan struct{}, between func(), what string) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-c:
			return deadline
		default:
			require.True(t, time.Now().Before(deadline), what)
			h.ch.Pump()
			between()
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// settle waits, for at most 10 seconds, until the worker that closes done
// either has or waits in Write for room in the output.
func (h *harness) settle(t *testing.T, done <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return
		default:
		}
		h.ch.mu.Lock()
		waiting := h.ch.x != nil && h.ch.x.room != nil
		h.ch.mu.Unlock()
		if waiting {
			return
		}
		require.True(t, time.Now().Before(deadline), "the worker waits or is done")
		time.Sleep(20 * time.Microsecond)
	}
}

// TestSpilledOutputIsCountedWhoeverSendsTheLastByte: a response that
// spilled counts once in SpilledOutputs, also when its last bytes go out
// through the worker's own write (sendNow) rather than a pump.
func TestSpilledOutputIsCountedWhoeverSendsTheLastByte(t *testing.T) {
	const chunks, size = 8, 64 << 10
	chunk := bytes.Repeat([]byte("x"), size)
	wrote, drained := make(chan struct{}), make(chan struct{})
	h := newHarness(t, func(c *Config) {
		c.OutbufOverflow = 128 << 10
		c.TempDir = t.TempDir()
		c.Serve = plainServe(func(ch *Channel, _ *Request) {
			for range chunks {
				if ch.Write(chunk, -1) != nil {
					break
				}
			}
			close(wrote)
			<-drained
			_ = ch.Write([]byte("end"), 0)
			ch.Finish(true)
		})
	})
	h.conn.outbound = DefaultSendBytes // a slow client: the output spills
	h.conn.tryWrite = func(p []byte) (int, error) {
		h.conn.mu.Lock()
		defer h.conn.mu.Unlock()
		if h.conn.outbound > 0 {
			return 0, syscall.EAGAIN
		}
		return h.conn.out.Write(p)
	}
	h.ch.Received([]byte("GET /big HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.Len(t, h.tasks, 1)
	done := make(chan struct{})
	go func() { defer close(done); h.tasks[0]() }()
	// The client reads nothing until the worker has written everything:
	// the output spills.
	deadline := h.pumpUntil(t, wrote, func() {}, "the worker wrote its chunks")
	h.conn.mu.Lock()
	h.conn.outbound = 0 // then catches up
	h.conn.mu.Unlock()
	for len(h.output()) < chunks*size {
		require.True(t, time.Now().Before(deadline), "the chunks are out")
		h.ch.Pump()
	}
	close(drained)
	<-done
	assert.Equal(t, chunks*size+len("end"), len(h.output()))
	assert.Equal(t, uint64(1), h.ch.site.Counters.SpilledOutputs.Load())
}

// TestPumpBacksOffWhileTheSocketStaysFull: each pump that finds the
// socket full and moves nothing asks the loop to wait longer before the
// next (Config.Poll's backoff), up to MaxBackoff; one that moves output
// starts again at 0, and one that finds gnet's buffer emptied since the
// last asks to be polled quickly (-1): that client reads faster than the
// loop polls, and from then on its backoff stays at 0, since a long wait
// would let it empty its socket and sit idle.
func TestPumpBacksOffWhileTheSocketStaysFull(t *testing.T) {
	var polls []int
	h := stalledHarness(t, func(c *Config) {
		c.Poll = func(_ *Channel, backoff int) { polls = append(polls, backoff) }
	})
	type step struct {
		name    string
		reads   bool // the client reads what gnet holds before the pump
		backoff int
	}
	// The worker found the socket full (a write-through that took
	// nothing): the first pump moves output to gnet and asks for a quick
	// poll, whose pump judges the client.
	steps := []step{{"first pump: output moves to gnet", false, -1}}
	for i := 1; i <= MaxBackoff+1; i++ {
		steps = append(steps, step{"still full", false, min(i, MaxBackoff)})
	}
	steps = append(steps,
		step{"emptied", true, -1},
		step{"full again", false, 0},
		step{"full for long", false, 0},
		step{"full for long", false, 0})
	for _, st := range steps {
		if st.reads {
			h.conn.clientReads(DefaultSendBytes)
		}
		polls = polls[:0]
		h.ch.Pump()
		require.Len(t, polls, 1, st.name)
		assert.Equal(t, st.backoff, polls[0], st.name)
	}
}

// TestWriteByGivesUpAtDeadline: a write paused by backpressure returns
// os.ErrDeadlineExceeded when its deadline passes, having buffered none
// of its bytes; one whose deadline has passed before it would pause
// returns at once.
func TestWriteByGivesUpAtDeadline(t *testing.T) {
	const watermark = 64 << 10
	chunk := bytes.Repeat([]byte("x"), 16<<10)
	for _, wait := range []time.Duration{50 * time.Millisecond, -time.Second} {
		t.Run(fmt.Sprint(wait), func(t *testing.T) {
			result := make(chan error, 1)
			var buffered, after int64
			h := newHarness(t, func(c *Config) {
				c.OutbufOverflow, c.OutbufHighWatermark, c.TempDir = watermark, watermark, t.TempDir()
				c.Serve = plainServe(func(ch *Channel, _ *Request) {
					var err error
					for i := 0; i < 64 && err == nil; i++ { // four times the watermark
						buffered = ch.outLen()
						err = ch.WriteBy(chunk, -1, time.Now().Add(wait))
					}
					after = ch.outLen()
					result <- err
					ch.Finish(false)
				})
			})
			h.conn.limited = true // a client that reads nothing
			h.ch.Received([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
			ran := make(chan struct{})
			go func() { defer close(ran); h.runTasks() }()
			defer func() { <-ran }()
			select {
			case err := <-result:
				require.ErrorIs(t, err, os.ErrDeadlineExceeded)
			case <-time.After(10 * time.Second):
				t.Fatal("the paused write did not give up")
			}
			assert.Equal(t, buffered, after, "the failed write buffered nothing")
			assert.GreaterOrEqual(t, after, int64(watermark), "it failed because it was paused")
		})
	}
}

// TestPumpThatMovesNothingLeavesWriterPaused: a worker paused for its
// client is woken by a pump that moved output, not by every poll of a
// socket still full: each such wake-up was a thread woken and put back
// to sleep, most of what a download to a client reading at a steady rate
// cost. Once the client reads, the next pump wakes it.
func TestPumpThatMovesNothingLeavesWriterPaused(t *testing.T) {
	const chunks, size = 64, 16 << 10
	big := bigResponse(t, bytes.Repeat([]byte("x"), size), chunks, exact)
	h := newHarness(t, func(c *Config) {
		big(c)
		c.OutbufHighWatermark = 256 << 10
	})
	h.conn.limited = true
	done := h.startRequest(t, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	paused := func() chan struct{} {
		h.settle(t, done)
		h.ch.mu.Lock()
		defer h.ch.mu.Unlock()
		require.NotNil(t, h.ch.x, "the worker waits for the client")
		return h.ch.x.room
	}
	// Pumps fill gnet's buffer, and the writer waits.
	for range 4 {
		h.ch.Pump()
		paused()
	}
	room := paused()
	for i := range 10 {
		h.ch.Pump()
		select {
		case <-room:
			t.Fatalf("pump %d moved nothing and woke the writer", i)
		default:
		}
	}
	h.conn.clientReads(chunks * size)
	h.ch.Pump()
	select {
	case <-room:
	default:
		t.Fatal("a pump that moved output left the writer paused")
	}
	h.pumpUntil(t, done, func() { h.conn.clientReads(chunks * size) }, "the worker finished")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(h.output()) < chunks*size; {
		h.ch.Pump()
	}
	assertChunksInOrder(t, h.output(), size, chunks)
}

// stalledHarness is a channel whose worker has written a response of
// stalledBytes, eight pumps' worth, to a client that has read nothing:
// the socket takes none of it, and gnet keeps what a pump offers.
func stalledHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	h := newHarness(t, func(c *Config) {
		c.Serve = plainServe(func(ch *Channel, _ *Request) {
			_ = ch.Write(bytes.Repeat([]byte("x"), stalledBytes), -1)
			ch.Finish(true)
		})
		if mutate != nil {
			mutate(c)
		}
	})
	h.conn.limited = true
	h.ch.Received([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	require.Len(t, h.tasks, 1)
	h.tasks[0]()
	return h
}

const stalledBytes = 8 * DefaultSendBytes
