package buffers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReaderRoundTrip(t *testing.T) {
	t.Parallel()
	sizes := []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7}
	overflows := []int{0, 100, chunkSize, 1 << 20}
	// Each way of reading drains the buffer and returns what it read.
	reads := map[string]func(r io.Reader) ([]byte, error){
		"ReadAll": io.ReadAll,
		"WriteTo": func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			_, err := r.(io.WriterTo).WriteTo(&b)
			return b.Bytes(), err
		},
		"Copy": func(r io.Reader) ([]byte, error) {
			var b bytes.Buffer
			_, err := io.Copy(writerOnly{&b}, r) // takes the WriterTo path
			return b.Bytes(), err
		},
		"small reads": func(r io.Reader) ([]byte, error) {
			return io.ReadAll(iotest.HalfReader(r))
		},
	}
	for _, size := range sizes {
		for _, overflow := range overflows {
			for how, read := range reads {
				t.Run(fmt.Sprintf("%d/overflow=%d/%s", size, overflow, how), func(t *testing.T) {
					t.Parallel()
					data := make([]byte, size)
					rand.New(rand.NewSource(int64(size))).Read(data)
					h := newHarness(t, overflow)
					// Several writes, so the data crosses write boundaries too.
					for p := data; len(p) > 0; {
						k := min(len(p), 1000+len(p)/3)
						h.write(p[:k])
						p = p[k:]
					}
					r := h.o.Reader()
					got, err := read(r)
					require.NoError(t, err)
					require.True(t, bytes.Equal(data, got), "read back other bytes")
					require.Zero(t, h.o.held(), "memory kept after reading everything")
					require.False(t, h.o.Spilled(), "file kept after reading everything")
					require.NoError(t, r.Close())
				})
			}
		}
	}
}

type writerOnly struct{ io.Writer }

// The stdlib's reader conformance test, over a body that starts in memory
// and continues in the file.
func TestReaderConformance(t *testing.T) {
	t.Parallel()
	data := make([]byte, 2*chunkSize+100)
	rand.New(rand.NewSource(1)).Read(data)
	o := New(chunkSize+50, t.TempDir())
	defer o.Close()
	_, err := o.Write(data)
	require.NoError(t, err)
	require.NoError(t, iotest.TestReader(o.Reader(), data))
}

func TestReaderAfterClose(t *testing.T) {
	t.Parallel()
	o := New(10, t.TempDir())
	_, err := o.Write([]byte("hello, world"))
	require.NoError(t, err)
	r := o.Reader()
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "Close is idempotent")
	assert.False(t, o.Spilled())

	_, err = r.Read(make([]byte, 1))
	require.ErrorIs(t, err, ErrClosed)
	_, err = r.(io.WriterTo).WriteTo(io.Discard)
	require.ErrorIs(t, err, ErrClosed)
	_, err = o.Write([]byte("x"))
	require.ErrorIs(t, err, ErrClosed)
}

func TestReaderSealsWrites(t *testing.T) {
	t.Parallel()
	o := New(10, t.TempDir())
	defer o.Close()
	_, err := o.Write([]byte("body"))
	require.NoError(t, err)
	r := o.Reader()
	_, err = o.Write([]byte("late"))
	require.ErrorIs(t, err, ErrSealed)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, "body", string(got))
}

// A reader kept past a Reset must not read, or close, the next body.
func TestStaleReader(t *testing.T) {
	t.Parallel()
	o := New(10, t.TempDir())
	defer o.Close()
	_, err := o.Write([]byte("first"))
	require.NoError(t, err)
	stale := o.Reader()
	o.Reset()
	_, err = o.Write([]byte("second"))
	require.NoError(t, err)

	_, err = stale.Read(make([]byte, 10))
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, stale.Close())
	got, err := io.ReadAll(o.Reader())
	require.NoError(t, err)
	assert.Equal(t, "second", string(got), "a stale reader's Close closed the next body")
}

// WriteTo consumes exactly what the destination accepted, so that a failed
// copy can be resumed.
func TestWriteToPartialWrite(t *testing.T) {
	t.Parallel()
	errBroken := errors.New("broken pipe")
	tests := []struct {
		name    string
		w       io.Writer
		wantN   int64
		wantErr error
	}{
		{"error after some bytes", &limitedWriter{n: chunkSize + 10, err: errBroken}, chunkSize + 10, errBroken},
		{"short write without error", &limitedWriter{n: 10}, 10, io.ErrShortWrite},
		{"error at once", &limitedWriter{err: errBroken}, 0, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := make([]byte, 3*chunkSize)
			rand.New(rand.NewSource(2)).Read(data)
			o := New(chunkSize+100, t.TempDir())
			defer o.Close()
			_, err := o.Write(data)
			require.NoError(t, err)
			r := o.Reader()
			n, err := r.(io.WriterTo).WriteTo(tt.w)
			require.ErrorIs(t, err, tt.wantErr)
			require.Equal(t, tt.wantN, n)
			require.Equal(t, int64(len(data))-n, o.Len())
			rest, err := io.ReadAll(r)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data[n:], rest), "resumed at the wrong place")
		})
	}
}

// limitedWriter accepts n bytes, then writes short and returns err.
type limitedWriter struct {
	n   int
	err error
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	k := min(len(p), w.n)
	w.n -= k
	if k < len(p) {
		return k, w.err
	}
	return k, nil
}
