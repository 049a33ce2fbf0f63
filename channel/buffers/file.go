package buffers

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/valyala/bytebufferpool"
)

// spill is the file-resident tail of a buffer: bytes [r, w) of an
// anonymous temporary file. Writes append at w and reads use ReadAt, so
// the file's own offset is never relied on.
type spill struct {
	f *os.File
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

// disk is the file-resident part of a buffer: the front file, read first,
// and, after a rotation, the back file that takes new bytes while the
// front drains. Rotation waits until the front has been read past
// rotateAfter, so a body that is written whole and read afterwards stays
// in one file; and there is never a third file, so a buffer costs at most
// two descriptors, and its disk the queued bytes plus what the front file
// still keeps of its consumed head.
type disk struct {
	front, back spill
	rotate      int64 // rotateAfter, or smaller in tests
}

func (d *disk) isOpen() bool { return d.front.isOpen() }

func (d *disk) len() int64 { return d.front.len() + d.back.len() }

func (d *disk) open(dir string) error {
	if d.rotate == 0 {
		d.rotate = rotateAfter
	}
	return d.front.open(dir)
}

func (d *disk) write(p []byte, dir string) (int, error) {
	if !d.back.isOpen() && d.front.r >= d.rotate {
		// Only an optimization: if a new file cannot be had, the front
		// can still take the bytes.
		_ = d.back.open(dir)
	}
	if d.back.isOpen() {
		return d.back.write(p)
	}
	return d.front.write(p)
}

// peek reads from the front: a back file only exists while the front
// still holds bytes, because a drained front is replaced by it at once.
func (d *disk) peek(max int) ([]byte, error) { return d.front.peek(max) }

func (d *disk) read(p []byte) (int, error) {
	n, err := d.front.read(p)
	d.advance()
	return n, err
}

// discard consumes n ≤ d.len() bytes across both files.
func (d *disk) discard(n int64) {
	for n > 0 && d.front.isOpen() {
		k := min(n, d.front.len())
		d.front.discard(k)
		n -= k
		d.advance()
	}
}

// advance makes the back file the front once the front has drained and
// closed itself.
func (d *disk) advance() {
	if !d.front.isOpen() && d.back.isOpen() {
		d.front, d.back = d.back, spill{}
	}
}

func (d *disk) heldWindow() int { return d.front.heldWindow() + d.back.heldWindow() }

func (d *disk) close() error {
	return errors.Join(d.front.close(), d.back.close())
}
