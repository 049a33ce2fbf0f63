package buffers

import (
	"errors"
	"fmt"
	"os"
)

// The thresholds Waitress uses (adjustments.py): a request body stays in
// memory up to inbuf_overflow, a response's output up to outbuf_overflow.
const (
	DefaultInputOverflow  = 512 << 10
	DefaultOutputOverflow = 1 << 20
)

var (
	// ErrSpill is wrapped, together with the OS error, by a Write that
	// could not move bytes to a temporary file: the directory is missing
	// or unwritable, or the disk is full. The request cannot be buffered,
	// so the caller answers 500 or 503 and closes the buffer.
	ErrSpill = errors.New("carhop/buffers: cannot spill to temporary file")

	// ErrClosed is returned by every operation on a closed buffer and by a
	// reader whose buffer was closed or reset after it was handed out.
	ErrClosed = errors.New("carhop/buffers: buffer closed")

	// ErrSealed is returned by Write after Reader: the body belongs to the
	// handler from then on, and a late write would race with its reads.
	ErrSealed = errors.New("carhop/buffers: write after Reader")
)

// Overflowable is a FIFO byte queue that keeps up to an overflow threshold
// of bytes in pooled memory and appends the rest to an anonymous temporary
// file. Bytes always come out in the order they went in: the memory-resident
// prefix first, then the file. Once a buffer has spilled, new bytes go to
// the file until the buffer is drained; then the file is closed and the
// buffer starts over in memory.
//
// Memory held never exceeds the threshold plus one 32 KiB chunk. Files are
// never compacted, but once 16 MiB of a file has been consumed new bytes
// go to a second one, and the first is closed when it drains; so a writer
// that stays ahead of a slow reader for good costs a bounded amount of
// disk and at most two descriptors, not everything it ever sent.
//
// Output may also queue a region of a file of the caller's (AppendFile),
// which comes out in its turn like any bytes, straight from that file.
//
// An Overflowable is not safe for concurrent use. Its owner, the channel,
// guards it with its own mutex or hands it over whole (see Reader).
//
// The zero value is an empty buffer with no memory allowance, which sends
// every byte to a file in os.TempDir; use New.
type Overflowable struct {
	mem      memory
	file     disk
	budget   *Memory
	charged  int // bytes of mem admitted by budget: mem.stored() once settled
	overflow int
	dir      string
	err      error  // sticky spill failure; cleared by Reset
	gen      uint64 // bumped by Reset and Close to disown outstanding readers
	sealed   bool
	closed   bool
	spilled  bool // a byte went to the file since New or the last Reset
}

// New returns an empty buffer that keeps up to overflow bytes in memory
// and spills the rest to a temporary file in dir ("" means os.TempDir).
// An overflow ≤ 0 spills everything.
func New(overflow int, dir string) *Overflowable { return NewBounded(overflow, dir, Bounds{}) }

// NewBounded is New with the buffer's files, temporary and regions,
// counted against b.Files, and its memory beyond MemoryFloor against
// b.Memory.
func NewBounded(overflow int, dir string, b Bounds) *Overflowable {
	return &Overflowable{overflow: max(overflow, 0), dir: dir, file: disk{fds: b.Files}, budget: b.Memory}
}

// Write appends p. It fails only when bytes must spill and the temporary
// file cannot be created or written; the error then wraps both ErrSpill and
// the OS error, n counts the bytes that were stored (they can still be
// read), and every later Write fails the same way until Reset. The
// exception is ErrNoDescriptor (the buffer's Descriptors are spent),
// which a later Write may not meet. Write has no size limit of its own:
// body and output limits are the caller's.
func (o *Overflowable) Write(p []byte) (int, error) {
	switch {
	case o.closed:
		return 0, ErrClosed
	case o.sealed:
		return 0, ErrSealed
	case o.err != nil:
		return 0, o.err
	case len(p) == 0:
		return 0, nil
	}
	n := 0
	if !o.file.isOpen() {
		room := o.admit(min(o.overflow-o.mem.stored(), len(p)))
		if room == len(p) {
			o.mem.write(p)
			return len(p), nil
		}
		// Fill memory to the threshold exactly: those bytes are the ones
		// the pump or the handler reads without touching the disk.
		if room > 0 {
			o.mem.write(p[:room])
			n, p = room, p[room:]
		}
		if err := o.file.push(o.dir); err != nil {
			return n, o.fail(err)
		}
	}
	m, err := o.file.write(p, o.dir)
	n += m
	if m > 0 {
		o.spilled = true // writes go to a temporary file, never to a region
	}
	if err != nil {
		return n, o.fail(err)
	}
	return n, nil
}

// admit reserves want bytes of memory, or as many as the budget gives.
func (o *Overflowable) admit(want int) int {
	if want <= 0 {
		return 0
	}
	k := o.budget.admit(o.mem.stored(), want)
	o.charged += k
	return k
}

// settle gives the budget back what memory no longer stores: chunks go
// back whole, as they go back to the pool.
func (o *Overflowable) settle() {
	if freed := o.charged - o.mem.stored(); freed > 0 {
		o.budget.release(freed)
		o.charged -= freed
	}
}

func (o *Overflowable) fail(err error) error {
	if err == ErrNoDescriptor { //nolint:errorlint // push returns it bare
		return errNoDescriptor // not sticky: memory or a descriptor frees up
	}
	o.err = fmt.Errorf("%w: %w", ErrSpill, err)
	return o.err
}

var errNoDescriptor = fmt.Errorf("%w: %w", ErrSpill, ErrNoDescriptor)

// Peek returns up to max bytes from the front of the queue without
// consuming them: the next contiguous run, which may be shorter than max
// and than Len (it ends at a chunk boundary, at the end of memory, or at
// the end of the file read window). From memory the slice aliases the
// buffer; from the file it is read into a reusable window, so a Peek
// repeated without Discard does not read the file again. The slice is
// valid until the next Write, Discard, Reset or Close. An empty queue gives
// an empty slice and no error; an error means the temporary file could not
// be read.
func (o *Overflowable) Peek(max int) ([]byte, error) {
	switch {
	case o.closed:
		return nil, ErrClosed
	case max <= 0:
		return nil, nil
	case o.mem.n > 0:
		return o.mem.peek(max), nil
	case o.file.len() > 0:
		return o.file.peek(max)
	}
	return nil, nil
}

// Discard consumes the first n bytes, typically those a socket accepted
// out of the last Peek, returning memory to the pool chunk by chunk and
// closing the temporary file once everything is consumed. It panics if n
// is negative or exceeds Len: the caller's accounting is wrong, and
// guessing would send the client bytes out of order.
func (o *Overflowable) Discard(n int) {
	if n < 0 || int64(n) > o.Len() {
		panic(fmt.Sprintf("carhop/buffers: Discard(%d) with %d bytes queued", n, o.Len()))
	}
	k := min(n, o.mem.n)
	o.mem.discard(k)
	o.settle()
	if n > k {
		o.file.discard(int64(n - k))
	}
}

// Len is the number of bytes queued, in memory and in the file.
func (o *Overflowable) Len() int64 { return int64(o.mem.n) + o.file.len() }

// Stored is the number of queued bytes the buffer holds itself, in memory
// and in temporary files: Len less what regions (AppendFile) have still
// to give, which stay in the caller's files and cost the buffer nothing
// but their descriptors. It is what a bound on the memory and disk a
// buffer uses should count.
func (o *Overflowable) Stored() int64 { return int64(o.mem.n) + o.file.stored() }

// InMemory is the number of queued bytes held in memory.
func (o *Overflowable) InMemory() int { return o.mem.n }

// FileFront returns the temporary file that holds the first queued bytes,
// their offset in it and how many of them it holds, when the front of the
// queue is on disk (nothing is queued in memory ahead of it), so that the
// caller can send them from the file without reading them into memory
// (sendfile); it consumes what it sent with Discard. ok is false
// otherwise. The file is valid until the next Discard, Reset or Close.
func (o *Overflowable) FileFront() (f *os.File, off, n int64, ok bool) {
	if o.closed || o.mem.n > 0 || !o.file.isOpen() {
		return nil, 0, 0, false
	}
	front := o.file.front()
	return front.f, front.r, front.len(), true
}

// AppendFile queues bytes [off, off+n) of f after everything queued, to
// come out in their turn as if written, but read from f (FileFront: with
// sendfile, the bytes never pass through memory), and takes f: the buffer
// closes it once they are consumed, or at Reset or Close, and never
// removes it. f must be a regular file that holds those bytes and that
// nothing writes to meanwhile; bytes written after the region go to a
// temporary file behind it, whatever the threshold. It returns false,
// leaving f to the caller, when the buffer already queues as many files
// as it may (a few), its Descriptors are spent, or n is not positive; the
// caller writes the bytes instead.
func (o *Overflowable) AppendFile(f *os.File, off, n int64) (bool, error) {
	switch {
	case o.closed:
		return false, ErrClosed
	case o.sealed:
		return false, ErrSealed
	case o.err != nil:
		return false, o.err
	case n <= 0 || off < 0 || len(o.file.files) >= maxFiles-1:
		// One place is kept for the temporary file that takes what
		// follows.
		return false, nil
	}
	return o.file.pushRegion(f, off, n), nil
}

// Spilled reports whether the buffer queues bytes in a file (a temporary
// file, from the first byte that did not fit in memory until the buffer
// is drained, or an AppendFile region), and so new bytes go to disk.
func (o *Overflowable) Spilled() bool { return o.file.isOpen() }

// HasSpilled reports whether any byte has been written to a temporary
// file since New or the last Reset, drained since or not: what a count of
// spilled buffers wants when it is taken as the buffer is released.
func (o *Overflowable) HasSpilled() bool { return o.spilled }

// Reset discards everything, returns memory to the pool and closes the
// temporary file, leaving the buffer empty and writable as if new, also
// after Close. Readers handed out before fail with ErrClosed.
func (o *Overflowable) Reset() {
	_ = o.release() // the bytes are discarded: a close error loses nothing
	o.err, o.sealed, o.closed = nil, false, false
}

// Close releases everything like Reset and makes every later operation,
// and every reader handed out before, fail with ErrClosed. It is
// idempotent. The error is the temporary file's close (or, where the file
// could not be unlinked at creation, removal) error, worth logging only:
// on Unix the file has no name and vanishes with its descriptor.
func (o *Overflowable) Close() error {
	err := o.release()
	o.closed = true
	return err
}

func (o *Overflowable) release() error {
	o.gen++
	o.spilled = false
	o.mem.reset()
	o.settle()
	return o.file.close()
}

// held is the memory the buffer costs: chunk capacity plus the file read
// window. Tests check it against the threshold plus one chunk.
func (o *Overflowable) held() int { return o.mem.held + o.file.heldWindow() }
