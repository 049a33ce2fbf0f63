package buffers

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/valyala/bytebufferpool"
)

// spill is one file of a buffer's file-resident tail: bytes [r, w) of an
// anonymous temporary file, or of a region of the caller's file
// (AppendFile). Writes append at w and reads use ReadAt, so the file's
// own offset is never relied on.
type spill struct {
	f *os.File
	// region marks a file of the caller's: never written, never removed,
	// only closed (the caller handed over a descriptor of its own).
	region bool
	// name is set only where the file could not be unlinked when it was
	// created (Windows refuses to remove an open file); close removes it.
	name string
	r, w int64
	// window caches file bytes [win, win+len(window.B)) for Peek, so a
	// pump that retries a send after EAGAIN does not read the file again.
	// Written bytes never change, so the cache cannot go stale.
	window *bytebufferpool.ByteBuffer
	win    int64
}

// open creates the temporary file and, where the OS allows, unlinks it at
// once: the open descriptor keeps the data reachable for us alone, and if
// the process dies nothing is left behind to clean up.
func (s *spill) open(dir string) error {
	f, err := os.CreateTemp(dir, "carhop-*")
	if err != nil {
		return err
	}
	s.f, s.name, s.r, s.w = f, "", 0, 0
	if os.Remove(f.Name()) != nil {
		s.name = f.Name()
	}
	return nil
}

func (s *spill) isOpen() bool { return s.f != nil }

func (s *spill) len() int64 { return s.w - s.r }

func (s *spill) write(p []byte) (int, error) {
	n, err := s.f.WriteAt(p, s.w)
	s.w += int64(n)
	return n, err
}

// peek returns up to max bytes at r from the read window, refilling the
// window (a whole chunk, not just max) when it holds fewer than wanted.
func (s *spill) peek(max int) ([]byte, error) {
	want := int(min(int64(max), int64(chunkSize), s.len()))
	if s.window != nil && s.r >= s.win {
		if i := s.r - s.win; i+int64(want) <= int64(len(s.window.B)) {
			return s.window.B[i : i+int64(want)], nil
		}
	}
	if s.window == nil {
		s.window = getChunk()
	}
	n := int(min(int64(chunkSize), s.len()))
	if cap(s.window.B) < n {
		s.window.B = make([]byte, 0, chunkSize)
	}
	b := s.window.B[:n]
	s.win = s.r
	if _, err := s.readAt(b); err != nil {
		s.window.B = s.window.B[:0]
		return nil, err
	}
	s.window.B = b
	return b[:want], nil
}

// read copies from r into p straight from the file, since the caller's
// buffer makes the window unnecessary, and consumes what it copied.
func (s *spill) read(p []byte) (int, error) {
	p = p[:min(int64(len(p)), s.len())]
	n, err := s.readAt(p)
	s.discard(int64(n))
	return n, err
}

// readAt fills p from offset r. The bytes were written, so a short read
// means the file changed under us.
func (s *spill) readAt(p []byte) (int, error) {
	n, err := s.f.ReadAt(p, s.r)
	if n == len(p) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, fmt.Errorf("carhop/buffers: read temporary file: %w", err)
}

// discard consumes n ≤ s.len() bytes and closes the file once it is
// drained, so an idle connection holds no descriptor and no disk blocks.
func (s *spill) discard(n int64) {
	s.r += n
	if s.r == s.w {
		_ = s.close() // the data is consumed: a close error cannot lose any
	}
}

// heldWindow is the memory the read window costs.
func (s *spill) heldWindow() int {
	if s.window == nil {
		return 0
	}
	return cap(s.window.B)
}

func (s *spill) close() error {
	if s.window != nil {
		putChunk(s.window)
		s.window = nil
	}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	if s.name != "" {
		err = errors.Join(err, os.Remove(s.name))
	}
	*s = spill{}
	return err
}

// rotateAfter is how much of a temporary file may be consumed before new
// bytes go to a fresh one, the same figure as Waitress's default
// outbuf_high_watermark, where it rotates its output buffers. Without it a
// buffer that never drains (a long download to a slow client, writer
// always ahead) would keep every byte it ever sent on disk.
const rotateAfter = 16 << 20

// maxFiles bounds the files a buffer queues, temporary files and regions
// together: AppendFile refuses a region past it, and the caller writes
// the bytes instead.
const maxFiles = 8

// disk is the file-resident part of a buffer: a queue of files, read
// front first, written at the back. Usually it holds one temporary file.
// Once the front has been read past rotateAfter, new bytes go to a second
// one while the front drains; rotation waits for that, so a body that is
// written whole and read afterwards stays in one file, and a writer that
// stays ahead of its reader has at most two temporary files, and its disk
// the queued bytes plus what the front file still keeps of its consumed
// head. A region (AppendFile) joins the queue as a file of its own, and
// bytes written after it go to a new temporary file behind it.
type disk struct {
	files  []spill
	rotate int64 // rotateAfter, or smaller in tests
	fds    *Descriptors
}

func (d *disk) isOpen() bool { return len(d.files) > 0 }

// front is the file read first; the queue must not be empty.
func (d *disk) front() *spill { return &d.files[0] }

func (d *disk) len() int64 {
	var n int64
	for i := range d.files {
		n += d.files[i].len()
	}
	return n
}

// stored is len less the regions' bytes.
func (d *disk) stored() int64 {
	var n int64
	for i := range d.files {
		if !d.files[i].region {
			n += d.files[i].len()
		}
	}
	return n
}

// push opens a new temporary file at the back of the queue.
func (d *disk) push(dir string) error {
	if d.rotate == 0 {
		d.rotate = rotateAfter
	}
	if !d.fds.Take() {
		return ErrNoDescriptor
	}
	var s spill
	if err := s.open(dir); err != nil {
		d.fds.Give()
		return err
	}
	d.files = append(d.files, s)
	return nil
}

// pushRegion queues bytes [off, off+n) of f, n > 0, after everything
// queued, and reports true; the disk owns f from then on. It reports
// false, leaving f alone, when the descriptor budget is spent.
func (d *disk) pushRegion(f *os.File, off, n int64) bool {
	if !d.fds.Take() {
		return false
	}
	d.files = append(d.files, spill{f: f, region: true, r: off, w: off + n})
	return true
}

func (d *disk) write(p []byte, dir string) (int, error) {
	back := &d.files[len(d.files)-1]
	switch {
	case back.region:
		if err := d.push(dir); err != nil {
			return 0, err
		}
	case len(d.files) == 1 && back.r >= d.rotate:
		// Only an optimization: if a new file cannot be had, the front
		// can still take the bytes.
		_ = d.push(dir)
	}
	return d.files[len(d.files)-1].write(p)
}

// peek reads from the front: a drained front is replaced by the next file
// at once.
func (d *disk) peek(max int) ([]byte, error) { return d.front().peek(max) }

func (d *disk) read(p []byte) (int, error) {
	n, err := d.front().read(p)
	d.advance()
	return n, err
}

// discard consumes n ≤ d.len() bytes across the files.
func (d *disk) discard(n int64) {
	for n > 0 && d.isOpen() {
		k := min(n, d.front().len())
		d.front().discard(k)
		n -= k
		d.advance()
	}
}

// advance drops the front once it has drained and closed itself.
func (d *disk) advance() {
	if n := len(d.files); n > 0 && !d.front().isOpen() {
		d.fds.Give()
		copy(d.files, d.files[1:])
		d.files[n-1] = spill{} // copied forward: drop its pointers
		d.files = d.files[:n-1]
	}
}

func (d *disk) heldWindow() int {
	n := 0
	for i := range d.files {
		n += d.files[i].heldWindow()
	}
	return n
}

func (d *disk) close() error {
	var err error
	for i := range d.files {
		err = errors.Join(err, d.files[i].close())
		d.fds.Give()
	}
	d.files = d.files[:0]
	return err
}
