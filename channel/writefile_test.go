package channel

import (
	"bytes"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWritesBehindFileDoNotWaitForIt: a file queued with WriteFile costs
// the server neither memory nor disk while it waits, so it does not count
// toward the high watermark. What a worker writes behind it (a pipelined
// response, or more of its own), or a second file, is queued at once
// while the client reads nothing; only what the buffer stores itself
// pauses the worker at the watermark. Every byte then reaches the client
// in order.
func TestWritesBehindFileDoNotWaitForIt(t *testing.T) {
	const fileSize, watermark, piece = 1 << 20, 256 << 10, 64 << 10
	type step struct {
		file  bool // WriteFile of the test's file, else Write of n bytes
		n     int  // written in pieces of at most piece bytes
		label byte // the written bytes' value
	}
	for _, tc := range []struct {
		name  string
		steps []step
		waits bool // the worker is paused before the client reads
		// reads is what the client reads before the worker must be done:
		// a paused worker resumes once what the buffer stores drops below
		// the watermark, whatever file is still to be sent.
		reads int
	}{
		{"a short write behind a file", []step{{file: true}, {n: 100, label: 'a'}}, false, 0},
		{"a second file behind a file", []step{{file: true}, {file: true}}, false, 0},
		{"a file behind a file and a write", []step{{file: true}, {n: 100, label: 'a'}, {file: true}}, false, 0},
		{"the watermark's worth behind a file", []step{{file: true}, {n: watermark, label: 'a'}}, false, 0},
		{"more than the watermark behind a file", []step{{file: true}, {n: 2 * watermark, label: 'a'}}, true, 0},
		{
			"stored bytes on both sides of a file", []step{{n: watermark, label: 'a'}, {file: true}, {n: 2 * piece, label: 'b'}},
			true, watermark,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			content := make([]byte, fileSize)
			for i := range content {
				content[i] = byte(i % 251)
			}
			path := t.TempDir() + "/file"
			require.NoError(t, os.WriteFile(path, content, 0o600))
			var want bytes.Buffer
			for _, s := range tc.steps {
				if s.file {
					want.Write(content)
				} else {
					want.Write(bytes.Repeat([]byte{s.label}, s.n))
				}
			}
			sentFrom := make(chan bool, len(tc.steps)) // per file: queued as a file
			h := newHarness(t, func(c *Config) {
				c.OutbufOverflow, c.OutbufHighWatermark, c.TempDir = piece, watermark, t.TempDir()
				c.Serve = plainServe(func(ch *Channel, _ *Request) {
					defer ch.Finish(true)
					for _, s := range tc.steps {
						if s.file {
							f, err := os.Open(path)
							if !assert.NoError(t, err) {
								return
							}
							ok, err := ch.WriteFile(f, 0, fileSize, -1, time.Time{})
							assert.NoError(t, f.Close())
							if !assert.NoError(t, err) {
								return
							}
							sentFrom <- ok
							continue
						}
						for left := s.n; left > 0; left -= piece {
							if ch.Write(bytes.Repeat([]byte{s.label}, min(left, piece)), -1) != nil {
								return
							}
						}
					}
				})
			})
			h.conn.limited = true // a client that reads nothing yet
			done := h.startRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
			// The loop's pumps go on meanwhile: a worker that got ahead of
			// a client that has taken everything so far waits for the
			// next one, not for the client (mustWait).
			for range 50 {
				h.settle(t, done)
				h.ch.Pump()
			}
			select {
			case <-done:
				assert.False(t, tc.waits, "the worker was not paused")
			default:
				assert.True(t, tc.waits, "the worker is paused, holding %s bytes", h.stored())
			}
			if tc.reads > 0 {
				h.conn.clientReads(tc.reads)
				h.pumpUntil(t, done, func() {}, "the worker resumed and finished")
			}
			h.conn.clientReads(want.Len())
			deadline := h.pumpUntil(t, done, func() {}, "the worker finished")
			for time.Now().Before(deadline) && len(h.output()) < want.Len() {
				h.ch.Pump()
			}
			require.Equal(t, want.Len(), len(h.output()), "bytes that reached the socket")
			assert.True(t, bytes.Equal(want.Bytes(), []byte(h.output())), "the bytes reached the socket out of order")
			close(sentFrom)
			for ok := range sentFrom {
				assert.True(t, ok, "a file was written through instead of queued")
			}
			assert.GreaterOrEqual(t, h.conn.fromFile, fileSize, "bytes sent with sendfile")
		})
	}
}

// stored is what the channel's output buffer holds itself.
func (h *harness) stored() string {
	h.ch.mu.Lock()
	defer h.ch.mu.Unlock()
	return fmt.Sprint(h.ch.outStored())
}
