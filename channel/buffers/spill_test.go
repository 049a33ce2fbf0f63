package buffers

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// While spilled, the temporary file exists only as an open descriptor.
func TestSpillFileIsUnlinked(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("Windows cannot unlink an open file; it is removed at Close")
	}
	dir := t.TempDir()
	o := New(10, dir)
	_, err := o.Write(make([]byte, 100))
	require.NoError(t, err)
	require.True(t, o.Spilled())
	requireEmptyDir(t, dir)
	assert.Empty(t, o.file.front().name, "no name left to remove")
	require.NoError(t, o.Close())
	requireEmptyDir(t, dir)
}

// A failed spill is reported as ErrSpill wrapping the OS error; the bytes
// that fit in memory stay readable, later writes fail the same way, and
// nothing is left behind once the buffer is closed.
func TestSpillFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the directory to spill into, with the buffer
		// already written up to the threshold; it may replace the file.
		setup func(t *testing.T, o *Overflowable) string
		is    error // the OS error the result must also match
	}{
		{
			name: "directory missing",
			setup: func(t *testing.T, o *Overflowable) string {
				return filepath.Join(t.TempDir(), "missing")
			},
			is: fs.ErrNotExist,
		},
		{
			name: "directory unwritable",
			setup: func(t *testing.T, o *Overflowable) string {
				if os.Geteuid() == 0 {
					t.Skip("root ignores directory permissions; \"directory missing\" covers creation failure")
				}
				if runtime.GOOS == "windows" {
					t.Skip("no Unix permissions")
				}
				dir := t.TempDir()
				require.NoError(t, os.Chmod(dir, 0o500))
				t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
				return dir
			},
			is: fs.ErrPermission,
		},
		{
			// The file is created, then every write hits a full disk:
			// /dev/full stands in for it after the real file is made.
			name: "disk full",
			setup: func(t *testing.T, o *Overflowable) string {
				full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
				if err != nil {
					t.Skip("no /dev/full")
				}
				dir := t.TempDir()
				o.dir = dir
				_, err = o.Write(make([]byte, 5)) // spills: the real file
				require.NoError(t, err)
				require.True(t, o.Spilled())
				require.NoError(t, o.file.front().f.Close())
				o.file.front().f = full
				return dir
			},
			is: syscall.ENOSPC,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := New(10, "")
			_, err := o.Write([]byte("0123456789"))
			require.NoError(t, err)
			dir := tt.setup(t, o)
			o.dir = dir
			before := o.Len()

			n, err := o.Write([]byte("abcdefgh"))
			require.ErrorIs(t, err, ErrSpill)
			require.ErrorIs(t, err, tt.is)
			assert.Zero(t, n)
			assert.Equal(t, before, o.Len(), "failed bytes were counted")

			// Sticky, also for writes that would fit in memory.
			n, err = o.Write([]byte("x"))
			require.ErrorIs(t, err, ErrSpill)
			assert.Zero(t, n)

			b, err := o.Peek(100)
			require.NoError(t, err)
			assert.Equal(t, "0123456789", string(b), "stored bytes lost")

			require.NoError(t, o.Close())
			assert.Zero(t, o.held())
			parent := filepath.Dir(dir)
			if _, err := os.Stat(dir); err == nil {
				parent = dir
			}
			requireEmptyDir(t, parent)
		})
	}
}

// The bytes of a write that crosses the threshold are stored up to the
// threshold even when the spill then fails, and n says so.
func TestSpillFailurePartialWrite(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	o := New(10, filepath.Join(parent, "missing"))
	n, err := o.Write([]byte("0123456789abcdef"))
	require.ErrorIs(t, err, ErrSpill)
	assert.Equal(t, 10, n)
	assert.Equal(t, int64(10), o.Len())

	o.Reset()
	_, err = o.Write([]byte("ok"))
	require.NoError(t, err, "Reset clears a spill failure")
	require.NoError(t, o.Close())
	requireEmptyDir(t, parent)
}

// A buffer that never drains, its writer always a little ahead of its
// reader, must not keep everything it ever carried on disk: files rotate,
// and there are never more than two.
func TestRotationBoundsDisk(t *testing.T) {
	t.Parallel()
	const rotate, backlog, write = 1000, 500, 300
	h := newHarness(t, 0)
	h.o.file.rotate = rotate
	p := make([]byte, write)
	h.write(make([]byte, backlog))
	files := map[*os.File]bool{}
	for i := range 1000 {
		p[0] = byte(i)
		h.write(p)
		require.LessOrEqual(t, len(h.o.file.files), 2, "more than two temporary files")
		for _, s := range h.o.file.files {
			files[s.f] = true
			fi, err := s.f.Stat()
			require.NoError(t, err)
			require.LessOrEqual(t, fi.Size(), int64(rotate+3*backlog+write), "file grew past its bound")
		}
		h.peek(write)
		h.discard(write)
	}
	assert.Greater(t, len(files), 100, "did not rotate")
	h.drain()
}

// A temporary file that can no longer be read (here: its descriptor
// closed behind the buffer's back) is an error for every reader, never
// wrong or missing bytes.
func TestReadFailure(t *testing.T) {
	t.Parallel()
	read := map[string]func(o *Overflowable) error{
		"Peek": func(o *Overflowable) error { _, err := o.Peek(10); return err },
		"Read": func(o *Overflowable) error { _, err := o.Reader().Read(make([]byte, 10)); return err },
		"WriteTo": func(o *Overflowable) error {
			_, err := o.Reader().(io.WriterTo).WriteTo(io.Discard)
			return err
		},
	}
	for name, read := range read {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			o := New(0, dir)
			_, err := o.Write([]byte("on disk"))
			require.NoError(t, err)
			require.NoError(t, o.file.front().f.Close())
			err = read(o)
			require.ErrorIs(t, err, os.ErrClosed)
			assert.Equal(t, int64(7), o.Len(), "unread bytes consumed")
			_ = o.Close() // reports the double close; nothing to clean up
			requireEmptyDir(t, dir)
		})
	}
}
