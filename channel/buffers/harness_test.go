package buffers

import (
	"bytes"
	"os"
	"runtime"
	"slices"
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
	// regions are the files given to AppendFile and not yet seen closed;
	// regionDir holds them (not dir, which must stay empty).
	regions   []*os.File
	regionDir string
	made      []string // the region files, removed with the harness
	// spans are the regions' places in the stream since the last reset,
	// [from, to) counted in bytes written; consumed counts the bytes
	// discarded since then. Together they give what Stored must say.
	spans    [][2]int64
	written  int64
	consumed int64
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
		for _, name := range h.made {
			require.NoError(t, os.Remove(name)) // it must exist: the buffer removes no region
		}
	})
	return h
}

func (h *harness) write(p []byte) {
	h.t.Helper()
	o := h.o
	wasSpilled, stored := o.Spilled(), o.mem.stored()
	n, err := o.Write(p)
	h.model.Write(p[:n])
	h.written += int64(n)
	if err != nil {
		// Only a spent budget may fail a write here, and it leaves the
		// buffer as it was but for memory filled to the threshold.
		require.ErrorIs(h.t, err, ErrNoDescriptor)
		require.ErrorIs(h.t, err, ErrSpill)
		require.Equal(h.t, o.file.fds.Limit(), o.file.fds.Open(), "a write denied a file with the budget not spent")
		require.Equal(h.t, wasSpilled, o.Spilled())
		if !wasSpilled {
			require.Equal(h.t, h.threshold(), o.mem.stored())
		} else {
			require.Zero(h.t, n, "bytes stored behind a region with no file for them")
		}
		h.check()
		return
	}
	require.Equal(h.t, len(p), n)
	if !wasSpilled && len(p) > 0 {
		// Spilling happens exactly when memory would pass the threshold,
		// and then memory is filled to the threshold, not short of it.
		over := stored+len(p) > h.threshold()
		require.Equal(h.t, over, o.Spilled(), "spilled after writing %d onto %d stored", len(p), stored)
		if over {
			require.Equal(h.t, h.threshold(), o.mem.stored())
		}
	}
	h.check()
}

// threshold is what the buffer keeps in memory before it spills: its
// overflow, or less under a Memory budget it has to itself.
func (h *harness) threshold() int {
	if m := h.o.budget; m != nil {
		return min(h.o.overflow, max(int(m.Limit()), MemoryFloor))
	}
	return h.o.overflow
}

// appendFile queues p as a region of a file of its own, between pad
// bytes of junk on either side; where the buffer refuses the region, p is
// written instead, as the channel does.
func (h *harness) appendFile(p []byte, pad int) {
	h.t.Helper()
	if h.regionDir == "" {
		h.regionDir = h.t.TempDir()
	}
	f, err := os.CreateTemp(h.regionDir, "region-*")
	require.NoError(h.t, err)
	h.made = append(h.made, f.Name())
	junk := bytes.Repeat([]byte{0xee}, pad)
	_, err = f.Write(slices.Concat(junk, p, junk))
	require.NoError(h.t, err)
	ok, err := h.o.AppendFile(f, int64(pad), int64(len(p)))
	require.NoError(h.t, err)
	if !ok {
		spent := h.o.file.fds != nil && h.o.file.fds.Open() == h.o.file.fds.Limit()
		require.True(h.t, len(p) == 0 || len(h.o.file.files) >= maxFiles-1 || spent,
			"region of %d bytes refused with %d files queued", len(p), len(h.o.file.files))
		require.NoError(h.t, f.Close())
		h.write(p)
		return
	}
	h.regions = append(h.regions, f)
	h.model.Write(p)
	h.spans = append(h.spans, [2]int64{h.written, h.written + int64(len(p))})
	h.written += int64(len(p))
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
	h.consumed += int64(n)
	h.check()
}

func (h *harness) reset() {
	h.t.Helper()
	h.o.Reset()
	h.model.Reset()
	h.spans, h.written, h.consumed = h.spans[:0], 0, 0
	h.check() // every region closed: the buffer is empty
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
	require.Equal(h.t, o.Len()-h.regionBytesLeft(), o.Stored(), "bytes stored, regions aside")
	require.LessOrEqual(h.t, o.InMemory(), o.overflow)
	require.LessOrEqual(h.t, o.held(), o.overflow+chunkSize, "memory held past threshold plus one chunk")
	if !o.Spilled() {
		require.Equal(h.t, int64(o.InMemory()), o.Len())
	}
	if fds := o.file.fds; fds != nil {
		require.Equal(h.t, len(o.file.files), fds.Open(), "files counted against the budget")
		require.LessOrEqual(h.t, fds.Open(), fds.Limit())
	}
	if m := o.budget; m != nil {
		require.Equal(h.t, o.mem.stored(), o.charged, "memory charged to the budget")
		require.Equal(h.t, int64(o.charged), m.Held(), "the budget holds what the buffer stores")
		require.LessOrEqual(h.t, o.mem.stored(), h.threshold())
	}
	for i, f := range o.file.files {
		require.True(h.t, f.isOpen(), "file %d of the queue closed", i)
		require.Positive(h.t, f.len(), "file %d of the queue drained but kept", i)
	}
	if o.Len() == 0 {
		h.requireRegionsClosed()
		require.False(h.t, o.Spilled(), "a drained buffer keeps its file")
		require.Zero(h.t, o.held(), "a drained buffer keeps memory")
	}
	if runtime.GOOS != "windows" {
		// Unlink-on-create: even a spilled buffer's file has no name.
		requireEmptyDir(h.t, h.dir)
	}
}

// regionBytesLeft is how many queued bytes come from regions.
func (h *harness) regionBytesLeft() int64 {
	var n int64
	for _, s := range h.spans {
		n += max(0, s[1]-max(s[0], h.consumed))
	}
	return n
}

// requireRegionsClosed checks that the buffer has closed every file given
// to AppendFile, and removed none.
func (h *harness) requireRegionsClosed() {
	h.t.Helper()
	for _, f := range h.regions {
		_, err := f.Stat()
		require.ErrorIs(h.t, err, os.ErrClosed, "a consumed region's file left open")
		_, err = os.Stat(f.Name())
		require.NoError(h.t, err, "a region's file was removed")
	}
	h.regions = h.regions[:0]
}

func requireEmptyDir(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries, "files left in the temporary directory")
}
