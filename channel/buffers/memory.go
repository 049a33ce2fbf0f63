package buffers

import "github.com/valyala/bytebufferpool"

// chunkSize bounds every in-memory chunk and the file read window. It is
// the granularity at which consumed memory is given back, the largest
// slice Peek returns, and the slack above the overflow threshold that a
// buffer may hold (a partly filled last chunk). 32 KiB keeps that slack
// small next to Waitress's 512 KB and 1 MB thresholds while still handing
// the socket writes large enough that syscall cost stays negligible.
const chunkSize = 32 << 10

// chunkPool is private so that its size calibration sees only chunks.
// bytebufferpool drops buffers larger than the sizes Put most often; in
// the shared default pool, other users' small buffers would make it drop
// every one of ours.
var chunkPool bytebufferpool.Pool

// getChunk takes a pooled buffer with whatever capacity the pool had;
// grow raises it on demand, so a small body in a cold pool takes a small
// buffer rather than a whole chunk.
func getChunk() *bytebufferpool.ByteBuffer { return chunkPool.Get() }

// putChunk returns b to the pool with its length intact: the pool
// calibrates on len(b.B) at Put time, and a truncated buffer would teach it
// that chunks are tiny and make it discard full-size ones.
func putChunk(b *bytebufferpool.ByteBuffer) { chunkPool.Put(b) }

// memory is the in-memory FIFO: a queue of chunks, every one full except
// possibly the last, with a read offset into the first. Consuming a chunk
// to its end returns it to the pool at once, so memory drains progressively
// instead of staying pinned to the end of one large slice.
type memory struct {
	chunks []*bytebufferpool.ByteBuffer
	off    int // consumed bytes at the head of chunks[0]
	n      int // queued bytes
	held   int // sum of chunk capacities: what this queue really costs
}

// stored is the bytes the chunks occupy: the queued bytes plus the
// consumed head of the first chunk, which is not freed until the whole
// chunk is. Admission to memory is decided on this, not on n, so that held
// stays within the threshold plus one chunk.
func (m *memory) stored() int { return m.n + m.off }

func (m *memory) write(p []byte) {
	for len(p) > 0 {
		var last *bytebufferpool.ByteBuffer
		if k := len(m.chunks); k > 0 && len(m.chunks[k-1].B) < chunkSize {
			last = m.chunks[k-1]
		} else {
			last = getChunk()
			m.held += cap(last.B)
			m.chunks = append(m.chunks, last)
		}
		k := min(len(p), chunkSize-len(last.B))
		m.grow(last, k)
		last.B = append(last.B, p[:k]...)
		m.n += k
		p = p[k:]
	}
}

// grow makes room for need more bytes in b, doubling but never past
// chunkSize. Growing by hand rather than by append keeps every full chunk's
// capacity exactly chunkSize, which is what bounds held. The 512-byte floor
// spares a body arriving a few bytes at a time a copy per write.
func (m *memory) grow(b *bytebufferpool.ByteBuffer, need int) {
	c := cap(b.B)
	if len(b.B)+need <= c {
		return
	}
	nc := min(max(2*c, len(b.B)+need, 512), chunkSize)
	nb := make([]byte, len(b.B), nc)
	copy(nb, b.B)
	b.B = nb
	m.held += nc - c
}

// peek returns up to max bytes from the front without copying.
func (m *memory) peek(max int) []byte {
	if m.n == 0 {
		return nil
	}
	b := m.chunks[0].B[m.off:]
	return b[:min(len(b), max)]
}

// discard consumes n ≤ m.n bytes. A chunk read to its end goes back to
// the pool even if it is the partly filled last one: an idle connection
// should hold no memory, and the next write takes a chunk from the pool.
func (m *memory) discard(n int) {
	m.n -= n
	for n > 0 {
		b := m.chunks[0]
		k := min(n, len(b.B)-m.off)
		m.off += k
		n -= k
		if m.off == len(b.B) {
			m.popFront()
		}
	}
}

func (m *memory) popFront() {
	b := m.chunks[0]
	m.held -= cap(b.B)
	putChunk(b)
	// The queue is at most threshold/chunkSize+1 long (33 for 1 MB), so
	// shifting beats a ring buffer's bookkeeping.
	copy(m.chunks, m.chunks[1:])
	m.chunks[len(m.chunks)-1] = nil
	m.chunks = m.chunks[:len(m.chunks)-1]
	m.off = 0
}

func (m *memory) reset() {
	for _, b := range m.chunks {
		putChunk(b)
	}
	clear(m.chunks)
	m.chunks = m.chunks[:0]
	m.off, m.n, m.held = 0, 0, 0
}
