package buffers

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// op is one step of a scripted test: write n bytes, or discard n.
type op struct {
	write, discard int
}

func TestSpillThreshold(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		overflow int
		ops      []op
		spilled  bool
		inMemory int
	}{
		{"empty", 100, nil, false, 0},
		{"up to threshold", 100, []op{{write: 100}}, false, 100},
		{"in pieces up to threshold", 100, []op{{write: 40}, {write: 60}}, false, 100},
		{"one byte over", 100, []op{{write: 100}, {write: 1}}, true, 100},
		{"write straddles threshold", 100, []op{{write: 50}, {write: 51}}, true, 100},
		{"one write over", 100, []op{{write: 101}}, true, 100},
		{"zero threshold", 0, []op{{write: 1}}, true, 0},
		{"zero threshold, empty write", 0, []op{{write: 0}}, false, 0},
		{"across chunks", 3*chunkSize + 1, []op{{write: 3*chunkSize + 1}}, false, 3*chunkSize + 1},
		{"across chunks, over", 3*chunkSize + 1, []op{{write: 3*chunkSize + 2}}, true, 3*chunkSize + 1},
		// A consumed chunk is returned whole, and its room with it.
		{"drained chunk frees its room", 100, []op{{write: 100}, {discard: 100}, {write: 100}}, false, 100},
		// The consumed head of a chunk still occupies memory until the
		// whole chunk is consumed, so it counts against the threshold.
		{"consumed head still counts", 100, []op{{write: 60}, {discard: 30}, {write: 40}}, false, 70},
		{"consumed head still counts, over", 100, []op{{write: 60}, {discard: 30}, {write: 41}}, true, 70},
		// Once spilled, bytes keep going to the file even as memory
		// drains: order would otherwise break.
		{"stays spilled", 100, []op{{write: 101}, {discard: 100}, {write: 10}}, true, 0},
		{"drained file goes back to memory", 100, []op{{write: 150}, {discard: 150}, {write: 10}}, false, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.overflow)
			for _, s := range tt.ops {
				if s.discard > 0 {
					h.discard(s.discard)
				} else {
					h.write(bytes.Repeat([]byte{'x'}, s.write))
				}
			}
			assert.Equal(t, tt.spilled, h.o.Spilled())
			assert.Equal(t, tt.inMemory, h.o.InMemory())
		})
	}
}

// Consuming the front gives memory back a chunk at a time, not at the end.
func TestMemoryFreedProgressively(t *testing.T) {
	t.Parallel()
	h := newHarness(t, DefaultInputOverflow)
	h.write(make([]byte, 4*chunkSize))
	require.Equal(t, 4*chunkSize, h.o.held())
	h.discard(chunkSize - 1)
	assert.Equal(t, 4*chunkSize, h.o.held(), "a partly read chunk is kept")
	h.discard(1)
	assert.Equal(t, 3*chunkSize, h.o.held())
	h.discard(2 * chunkSize)
	assert.Equal(t, chunkSize, h.o.held())
}

func TestPeek(t *testing.T) {
	t.Parallel()
	data := make([]byte, 3*chunkSize)
	for i := range data {
		data[i] = byte(i * 7)
	}
	tests := []struct {
		name     string
		overflow int
		discard  int // consumed before the Peek
		max      int
		want     int // length Peek returns
	}{
		{"memory, short max", 1 << 20, 0, 10, 10},
		{"memory, stops at chunk end", 1 << 20, 0, 2 * chunkSize, chunkSize},
		{"memory, rest of chunk", 1 << 20, chunkSize - 3, 100, 3},
		{"memory, zero max", 1 << 20, 0, 0, 0},
		{"memory, negative max", 1 << 20, 0, -1, 0},
		{"memory before file", 100, 0, 1000, 100},
		{"file, short max", 100, 100, 10, 10},
		{"file, window bound", 100, 100, 3 * chunkSize, chunkSize},
		{"file, tail", 0, 3*chunkSize - 5, 100, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.overflow)
			h.write(data)
			h.discard(tt.discard)
			b, err := h.o.Peek(tt.max)
			require.NoError(t, err)
			require.Len(t, b, tt.want)
			require.True(t, bytes.Equal(data[tt.discard:tt.discard+tt.want], b))
		})
	}
}

// A pump that could not send everything peeks again; from the file that
// must come out of the window, not another read.
func TestPeekFileWindowReused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0)
	h.write(make([]byte, 2*chunkSize))
	h.peek(100)
	win := h.o.file.front().win
	h.peek(100)
	h.discard(50)
	h.peek(chunkSize - 50)
	assert.Equal(t, win, h.o.file.front().win, "window re-read although it held the bytes")
	h.peek(chunkSize) // wants past the window's end
	assert.Equal(t, int64(50), h.o.file.front().win)
}

func TestDiscardPanicsOnBadCount(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 11} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			o := New(100, t.TempDir())
			defer o.Close()
			_, err := o.Write(make([]byte, 10))
			require.NoError(t, err)
			assert.Panics(t, func() { o.Discard(n) })
		})
	}
}

func TestResetAndClose(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := New(100, dir)
	_, err := o.Write(make([]byte, 3*chunkSize))
	require.NoError(t, err)
	f := o.file.front().f

	o.Reset()
	assert.Zero(t, o.Len())
	assert.Zero(t, o.held())
	assert.False(t, o.Spilled())
	_, err = f.Stat()
	require.ErrorIs(t, err, os.ErrClosed, "Reset left the temporary file open")
	o.Reset() // idempotent

	_, err = o.Write([]byte("again"))
	require.NoError(t, err, "a reset buffer is writable")
	_, err = o.Write(make([]byte, 200))
	require.NoError(t, err)
	f = o.file.front().f

	require.NoError(t, o.Close())
	require.NoError(t, o.Close()) // idempotent
	_, err = f.Stat()
	require.ErrorIs(t, err, os.ErrClosed, "Close left the temporary file open")
	assert.Zero(t, o.held())
	requireEmptyDir(t, dir)

	_, err = o.Write([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = o.Peek(1)
	require.ErrorIs(t, err, ErrClosed)
	assert.Zero(t, o.Len())

	o.Reset()
	_, err = o.Write([]byte("x"))
	require.NoError(t, err, "Reset revives a closed buffer")
	require.NoError(t, o.Close())
}

// HasSpilled is what a count of spilled buffers reads when it releases
// one, after the file has been drained and closed.
func TestHasSpilledOutlivesTheFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 100)
	h.write(bytes.Repeat([]byte{'x'}, 100))
	assert.False(t, h.o.HasSpilled(), "up to the threshold stays in memory")
	h.write(bytes.Repeat([]byte{'x'}, 50))
	assert.True(t, h.o.Spilled())
	h.discard(150)
	assert.False(t, h.o.Spilled(), "drained: the file is closed")
	assert.True(t, h.o.HasSpilled(), "but it did spill")
	h.o.Reset()
	assert.False(t, h.o.HasSpilled(), "a reset buffer starts afresh")
}

// FileFront exposes the front of the queue only once it is in the file:
// what it points at is exactly what Peek would return next.
func TestFileFront(t *testing.T) {
	t.Parallel()
	o := New(10, t.TempDir())
	t.Cleanup(func() { _ = o.Close() })
	data := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	_, err := o.Write(data)
	require.NoError(t, err)

	_, _, _, ok := o.FileFront()
	assert.False(t, ok, "the first 10 bytes are in memory, ahead of the file")

	o.Discard(12)
	f, off, n, ok := o.FileFront()
	require.True(t, ok)
	assert.Equal(t, int64(len(data)-12), n)
	got := make([]byte, n)
	_, err = f.ReadAt(got, off)
	require.NoError(t, err)
	assert.Equal(t, data[12:], got)

	o.Discard(int(n))
	_, _, _, ok = o.FileFront()
	assert.False(t, ok, "drained: nothing left, no file")
}
