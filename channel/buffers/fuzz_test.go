package buffers

import "testing"

// FuzzOverflowable decodes the input as operations on a buffer with a
// 64-byte threshold, so that nearly every byte travels through a file, and
// with files rotated after 1000 consumed bytes, some bytes queued as
// regions of files of their own (AppendFile), and a budget of a few
// descriptors set now and then while the buffer holds no file, and the
// harness compares each step with a bytes.Buffer. Each operation is
// three bytes: the kind, then a 16-bit size.
func FuzzOverflowable(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 0, 5, 2, 0, 3})
	f.Add([]byte{0, 0, 64, 0, 0, 1, 1, 1, 0, 2, 0, 65})
	f.Add([]byte{0, 0x80, 0x05, 1, 0xff, 0xff, 2, 0x7f, 0xff, 1, 0, 9, 0, 0, 1})
	f.Add([]byte{0, 0, 10, 4, 0, 200, 0, 0, 5, 1, 0, 50, 2, 0, 100, 4, 0, 3, 2, 1, 0})
	f.Add([]byte{5, 0, 1, 0, 0, 100, 4, 0, 200, 0, 0, 100, 2, 0, 100, 0, 0, 100, 3, 0, 0, 5, 0, 0, 0, 0, 100})
	// One directory for the whole run: a fresh one per input would cost
	// more than the input. Inputs run one at a time in each process.
	dir, regions := f.TempDir(), f.TempDir()
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := newHarnessIn(t, 64, dir)
		h.o.file.rotate = 1000 // so that rotation is exercised too
		h.regionDir = regions
		var seq uint32
		bytes := func(n int) []byte {
			p := make([]byte, n)
			for i := range p {
				// Position-dependent bytes, so reordering shows.
				seq = seq*1664525 + 1013904223
				p[i] = byte(seq >> 24)
			}
			return p
		}
		for ; len(ops) >= 3; ops = ops[3:] {
			n := int(ops[1])<<8 | int(ops[2])
			switch ops[0] % 6 {
			case 0:
				h.write(bytes(n))
			case 1:
				h.peek(n)
			case 2:
				h.discard(n % (int(h.o.Len()) + 1))
			case 3:
				h.reset()
			case 4:
				h.appendFile(bytes(n), int(seq%7))
			case 5:
				if !h.o.file.isOpen() { // nothing counted, or to be given back
					h.o.file.fds = nil
					if n%5 < 4 {
						h.o.file.fds = NewDescriptors(n % 5)
					}
				}
				if h.o.mem.stored() == 0 { // likewise for memory
					h.o.budget = nil
					if n%3 > 0 {
						h.o.budget = NewMemory(int64(n) << 4)
					}
				}
			}
		}
		h.drain()
	})
}
