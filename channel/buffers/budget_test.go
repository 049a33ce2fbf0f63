package buffers

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Buffers sharing a Memory budget spill early once it is spent, keep
// their floor whatever it says, and give memory back as it is consumed,
// by Discard, a Reader, Reset or Close.
func TestMemoryBudgetSharedByBuffers(t *testing.T) {
	const kib = 1 << 10
	tests := []struct {
		name        string
		limit       int64
		first       int // written to the first buffer
		second      int // then to the second
		firstInMem  int
		secondInMem int
		denied      uint64
	}{
		{"both fit", 200 * kib, 80 * kib, 80 * kib, 80 * kib, 80 * kib, 0},
		{"second gets the rest", 150 * kib, 80 * kib, 100 * kib, 80 * kib, 70 * kib, 1},
		{"second gets its floor", 100 * kib, 80 * kib, 80 * kib, 80 * kib, MemoryFloor, 1},
		{"first spills past the budget", 50 * kib, 80 * kib, 10 * kib, 50 * kib, 10 * kib, 1},
		{"no budget: floors only", 0, 80 * kib, 80 * kib, MemoryFloor, MemoryFloor, 2},
		{"within the floor", 0, 10 * kib, 20 * kib, 10 * kib, 20 * kib, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := NewMemory(tt.limit)
			dir := t.TempDir()
			a := NewBounded(1<<20, dir, Bounds{Memory: mem})
			b := NewBounded(1<<20, dir, Bounds{Memory: mem})
			defer func() { require.NoError(t, a.Close()); require.NoError(t, b.Close()) }()
			pa, pb := bytes.Repeat([]byte("a"), tt.first), bytes.Repeat([]byte("b"), tt.second)
			_, err := a.Write(pa)
			require.NoError(t, err)
			_, err = b.Write(pb)
			require.NoError(t, err)
			assert.Equal(t, tt.firstInMem, a.InMemory())
			assert.Equal(t, tt.secondInMem, b.InMemory())
			assert.Equal(t, tt.firstInMem < tt.first, a.Spilled())
			assert.Equal(t, tt.secondInMem < tt.second, b.Spilled())
			assert.Equal(t, int64(tt.firstInMem+tt.secondInMem), mem.Held())
			assert.Equal(t, tt.denied, mem.Denied())

			// Everything comes out in order, and memory goes back.
			got, err := io.ReadAll(a.Reader())
			require.NoError(t, err)
			assert.True(t, bytes.Equal(pa, got), "the first buffer's bytes")
			assert.Equal(t, int64(tt.secondInMem), mem.Held(), "a Reader gives back what it consumed")
			b.Discard(int(b.Len()))
			assert.Zero(t, mem.Held(), "Discard gives back what it consumed")
		})
	}
}

func TestMemoryBudgetReleasedByResetAndClose(t *testing.T) {
	mem := NewMemory(1 << 20)
	a := NewBounded(1<<20, t.TempDir(), Bounds{Memory: mem})
	_, err := a.Write(make([]byte, 100<<10))
	require.NoError(t, err)
	require.Equal(t, int64(100<<10), mem.Held())
	a.Reset()
	assert.Zero(t, mem.Held(), "Reset")
	_, err = a.Write(make([]byte, 10<<10))
	require.NoError(t, err)
	require.NoError(t, a.Close())
	assert.Zero(t, mem.Held(), "Close")
	var none *Memory
	assert.Equal(t, 5, none.admit(0, 5), "a nil budget is no bound")
}

// Bytes held outside any buffer count against the budget as a buffer's
// do: past the limit they make the budget Spent, and the buffers keep
// only their floor, until they are released.
func TestMemoryHoldCountsWhatCannotSpill(t *testing.T) {
	const kib = 1 << 10
	tests := []struct {
		name     string
		limit    int64
		hold     int
		spent    bool
		inMemory int // of a 100 KiB write to a buffer after the Hold
	}{
		{"within the limit", 200 * kib, 50 * kib, false, 100 * kib},
		{"leaves part of it", 120 * kib, 50 * kib, false, 70 * kib},
		{"reaches the limit", 100 * kib, 100 * kib, true, MemoryFloor},
		{"past the limit", 100 * kib, 300 * kib, true, MemoryFloor},
		{"nothing held", 100 * kib, 0, false, 100 * kib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := NewMemory(tt.limit)
			mem.Hold(tt.hold)
			assert.Equal(t, tt.spent, mem.Spent())
			b := NewBounded(1<<20, t.TempDir(), Bounds{Memory: mem})
			_, err := b.Write(make([]byte, 100*kib))
			require.NoError(t, err)
			assert.Equal(t, int64(tt.hold+tt.inMemory), mem.Held())
			require.NoError(t, b.Close())
			mem.Release(tt.hold)
			assert.Zero(t, mem.Held())
			assert.False(t, mem.Spent())
		})
	}
	var none *Memory
	none.Hold(10)
	none.Release(10)
	assert.False(t, none.Spent(), "a nil budget is never spent")
}
