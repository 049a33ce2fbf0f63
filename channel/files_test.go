package channel

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel/buffers"
)

// TestChannelWithoutDescriptors: with the server's file budget spent
// (Config.Files), a channel does without files. Output that would spill
// waits in memory for the client instead, and every byte still arrives in
// order; a file to send is refused, for the caller to copy; a body that
// would need a temporary file is refused with 503.
func TestChannelWithoutDescriptors(t *testing.T) {
	t.Run("output waits in memory", func(t *testing.T) {
		const chunks, size = 32, 64 << 10
		fds := buffers.NewDescriptors(0)
		h := newHarness(t, func(c *Config) {
			bigResponse(t, bytes.Repeat([]byte("x"), size), chunks, unknown)(c)
			c.Files = fds
		})
		h.conn.limited = true
		var inMemory int64
		h.pumpBigResponse(t, func() {
			h.ch.mu.Lock()
			if h.ch.out != nil {
				inMemory = max(inMemory, h.ch.out.Len())
			}
			h.ch.mu.Unlock()
			h.conn.clientReads(size)
		}, func() { h.conn.clientReads(chunks * size) }, chunks*size)
		assertChunksInOrder(t, h.output(), size, chunks)
		assert.Zero(t, h.ch.site.Counters.SpilledOutputs.Load())
		assert.Zero(t, h.conn.fromFile, "bytes sent from a file")
		assert.Positive(t, fds.Denied(), "the writer never asked for a file")
		assert.LessOrEqual(t, inMemory, int64(h.ch.site.OutbufOverflow+size), "output held in memory")
		assert.Zero(t, fds.Open())
	})
	t.Run("a file is left to the caller", func(t *testing.T) {
		path := t.TempDir() + "/file"
		require.NoError(t, os.WriteFile(path, make([]byte, 1<<20), 0o600))
		var queued bool
		h := newHarness(t, func(c *Config) {
			c.Files = buffers.NewDescriptors(0)
			c.Serve = plainServe(func(ch *Channel, _ *Request) {
				f, err := os.Open(path)
				if assert.NoError(t, err) {
					queued, err = ch.WriteFile(f, 0, 1<<20, 0, time.Time{})
					assert.NoError(t, err)
					assert.NoError(t, f.Close())
				}
				ch.Finish(true)
			})
		})
		h.ch.Received([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
		h.runTasks()
		assert.False(t, queued)
		assert.Zero(t, h.ch.site.Counters.FilesSent.Load())
	})
	t.Run("a body that needs a file is refused", func(t *testing.T) {
		served := false
		h := newHarness(t, func(c *Config) {
			c.InbufOverflow = 16
			c.TempDir = t.TempDir()
			c.Files = buffers.NewDescriptors(0)
			c.Serve = plainServe(func(ch *Channel, _ *Request) { served = true; ch.Finish(true) })
		})
		h.ch.Received([]byte("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 64\r\n\r\n" + strings.Repeat("x", 64)))
		h.runTasks()
		h.ch.Pump()
		assert.False(t, served)
		assert.Equal(t, "[503 too busy to buffer request body]", h.output())
		assert.Equal(t, map[int]uint64{503: 1}, h.ch.site.Counters.Refused())
	})
}

// TestWriterWaitingForADescriptorTriesAtEveryPump: a writer whose output
// would spill, with the budget spent, waits in memory; another connection
// may give a descriptor back at any time, so every pump wakes it, not
// only one that moved output (TestPumpThatMovesNothingLeavesWriterPaused),
// and it spills the rest and finishes while its client still reads
// nothing.
func TestWriterWaitingForADescriptorTriesAtEveryPump(t *testing.T) {
	const chunks, size = 32, 64 << 10
	fds := buffers.NewDescriptors(1)
	require.True(t, fds.Take(), "another connection holds the one descriptor")
	h := newHarness(t, func(c *Config) {
		bigResponse(t, bytes.Repeat([]byte("x"), size), chunks, unknown)(c)
		c.Files = fds
	})
	h.conn.limited = true
	done := h.startRequest(t, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
	for range 4 { // gnet's buffer fills, and the writer waits for a file
		h.ch.Pump()
		h.settle(t, done)
	}
	require.Positive(t, fds.Denied())
	fds.Give()
	h.pumpUntil(t, done, func() {}, "the worker spilled the rest and finished, its client reading nothing")
	assert.Equal(t, 1, fds.Open(), "the spill file")
	h.conn.clientReads(chunks * size)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(h.output()) < chunks*size; {
		h.ch.Pump()
		h.conn.clientReads(chunks * size)
	}
	assertChunksInOrder(t, h.output(), size, chunks)
}
