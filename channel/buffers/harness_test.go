package buffers

import (
	"bytes"
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// harness drives an Overflowable and a bytes.Buffer model side by side and
// checks after every operation that they agree and that the buffer keeps
// its promises about memory, spilling and temporary files.
type harness struct {
	t     testing.TB
	o     *Overflowable
	model bytes.Buffer
	dir   string
}

func newHarness(t testing.TB, overflow int) *harness {
	return newHarnessIn(t, overflow, t.TempDir())
}

// newHarnessIn spills into dir, which must be empty and stay unshared
// while the harness runs.
func newHarnessIn(t testing.TB, overflow int, dir string) *harness {
	h := &harness{t: t, o: New(overflow, dir), dir: dir}
	t.Cleanup(func() {
		require.NoError(t, h.o.Close())
		requireEmptyDir(t, dir)
	})
	return h
}

func (h *harness) write(p []byte) {
	h.t.Helper()
	o := h.o
	wasSpilled, stored := o.Spilled(), o.mem.stored()
	n, err := o.Write(p)
	require.NoError(h.t, err)
	require.Equal(h.t, len(p), n)
	h.model.Write(p)
	if !wasSpilled && len(p) > 0 {
		// Spilling happens exactly when memory would pass the threshold,
		// and then memory is filled to the threshold, not short of it.
		over := stored+len(p) > o.overflow
		require.Equal(h.t, over, o.Spilled(), "spilled after writing %d onto %d stored", len(p), stored)
		if over {
			require.Equal(h.t, o.overflow, o.mem.stored())
		}
	}
	h.check()
}

func (h *harness) peek(limit int) {
	h.t.Helper()
	b, err := h.o.Peek(limit)
	require.NoError(h.t, err)
	require.LessOrEqual(h.t, len(b), max(limit, 0))
	if limit > 0 && h.model.Len() > 0 {
		require.NotEmpty(h.t, b, "Peek(%d) with %d queued", limit, h.model.Len())
	}
	require.True(h.t, bytes.Equal(b, h.model.Bytes()[:len(b)]), "Peek(%d) returned bytes out of order", limit)
	h.check()
}

func (h *harness) discard(n int) {
	h.t.Helper()
	h.o.Discard(n)
	h.model.Next(n)
	h.check()
}

func (h *harness) reset() {
	h.t.Helper()
	h.o.Reset()
	h.model.Reset()
	h.check()
	require.Zero(h.t, h.o.held())
}

// drain reads what is left through Reader and closes it.
func (h *harness) drain() {
	h.t.Helper()
	r := h.o.Reader()
	var got bytes.Buffer
	_, err := got.ReadFrom(r)
	require.NoError(h.t, err)
	require.True(h.t, bytes.Equal(h.model.Bytes(), got.Bytes()), "Reader returned other bytes than were written")
	require.Zero(h.t, h.o.Len())
	require.False(h.t, h.o.Spilled())
	require.Zero(h.t, h.o.held())
	require.NoError(h.t, r.Close())
}

func (h *harness) check() {
	h.t.Helper()
	o := h.o
	require.Equal(h.t, int64(h.model.Len()), o.Len())
	require.LessOrEqual(h.t, o.InMemory(), o.overflow)
	require.LessOrEqual(h.t, o.held(), o.overflow+chunkSize, "memory held past threshold plus one chunk")
	if !o.Spilled() {
		require.Equal(h.t, int64(o.InMemory()), o.Len())
	}
	if o.file.back.isOpen() {
		require.Positive(h.t, o.file.front.len(), "a drained front file was not replaced by the back one")
	}
	if o.Len() == 0 {
		require.False(h.t, o.Spilled(), "a drained buffer keeps its file")
		require.Zero(h.t, o.held(), "a drained buffer keeps memory")
	}
	if runtime.GOOS != "windows" {
		// Unlink-on-create: even a spilled buffer's file has no name.
		requireEmptyDir(h.t, h.dir)
	}
}

func requireEmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "files left in the temporary directory")
}
