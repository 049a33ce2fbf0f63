package buffers

import "sync/atomic"

// Bounds are what a buffer shares with the other buffers of its server.
// A nil field is no bound.
type Bounds struct {
	Files  *Descriptors // its temporary files and regions
	Memory *Memory      // its bytes in memory beyond MemoryFloor
}

// MemoryFloor is what every buffer may keep in memory whatever its Memory
// budget says: one chunk, so that a small body or response never needs a
// temporary file, however many slow clients hold the rest.
const MemoryFloor = chunkSize

// Memory bounds the bytes that the buffers sharing it keep in memory at
// once, request bodies and responses together.
//
// Each buffer's own threshold (the overflow given to New) bounds what one
// client can make the server hold, but not what all of them can: ten
// thousand clients each reading a 1 MiB response slowly would hold
// 10 GiB, where a server that writes from blocked threads (net/http)
// holds next to nothing of its own. Past the budget a buffer spills what
// it would have kept in memory, as if its threshold were lower, and keeps
// MemoryFloor at most: memory is bounded by the budget plus a chunk per
// buffer, and the rest waits on disk (Descriptors permitting; without a
// file the writer waits, as for any spill).
//
// The budget counts queued bytes, as the threshold does, not the pooled
// chunks behind them. A nil *Memory is no bound.
type Memory struct {
	held   atomic.Int64
	limit  int64
	denied atomic.Uint64
}

// NewMemory returns a budget of limit bytes; limit ≤ 0 keeps every buffer
// at MemoryFloor.
func NewMemory(limit int64) *Memory { return &Memory{limit: max(limit, 0)} }

// Limit is the number of bytes the budget allows in memory at once; 0
// for a nil budget, which counts nothing.
func (m *Memory) Limit() int64 {
	if m == nil {
		return 0
	}
	return m.limit
}

// Held is the number of bytes the buffers keep in memory now, floors
// included: it may exceed Limit by up to MemoryFloor per buffer.
func (m *Memory) Held() int64 {
	if m == nil {
		return 0
	}
	return m.held.Load()
}

// Denied counts the writes that spilled to disk, or waited for a file,
// because the budget was spent.
func (m *Memory) Denied() uint64 {
	if m == nil {
		return 0
	}
	return m.denied.Load()
}

// admit reserves room for up to want bytes in a buffer that keeps stored
// bytes in memory, and returns how many: all that fit under the limit,
// and at least enough to bring the buffer up to MemoryFloor.
func (m *Memory) admit(stored, want int) int {
	if m == nil || want <= 0 {
		return max(want, 0)
	}
	for {
		held := m.held.Load()
		k := int(min(int64(want), max(m.limit-held, 0)))
		k = max(k, min(want, MemoryFloor-stored))
		if m.held.CompareAndSwap(held, held+int64(k)) {
			if k < want {
				m.denied.Add(1)
			}
			return k
		}
	}
}

// release gives back n bytes admitted before.
func (m *Memory) release(n int) {
	if m != nil && n > 0 {
		m.held.Add(-int64(n))
	}
}

// Hold counts n bytes that are in memory already, outside any buffer: a
// request parsed ahead of the one being served, input left unread behind
// it. They cannot spill, so Hold takes them whatever the limit; whoever
// holds them stops reading ahead while the budget is Spent, and gives
// them back with Release.
func (m *Memory) Hold(n int) {
	if m != nil && n > 0 {
		m.held.Add(int64(n))
	}
}

// Release gives back n bytes counted by Hold.
func (m *Memory) Release(n int) { m.release(n) }

// Spent reports whether the bytes held reach the limit: buffers now
// keep no more than their floor in memory, and channels parse no
// further ahead. A nil budget is never spent.
func (m *Memory) Spent() bool { return m != nil && m.held.Load() >= m.limit }
