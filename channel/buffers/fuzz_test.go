package buffers

import "testing"

// FuzzOverflowable decodes the input as operations on a buffer with a
// 64-byte threshold, so that nearly every byte travels through a file, and
// with files rotated after 1000 consumed bytes,
// and the harness compares each step with a bytes.Buffer. Each operation is
// three bytes: the kind, then a 16-bit size.
func FuzzOverflowable(f *testing.F) {
	f.Add([]byte{0, 0, 10, 1, 0, 5, 2, 0, 3})
	f.Add([]byte{0, 0, 64, 0, 0, 1, 1, 1, 0, 2, 0, 65})
	f.Add([]byte{0, 0x80, 0x05, 1, 0xff, 0xff, 2, 0x7f, 0xff, 1, 0, 9, 0, 0, 1})
	// One directory for the whole run: a fresh one per input would cost
	// more than the input. Inputs run one at a time in each process.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := newHarnessIn(t, 64, dir)
		h.o.file.rotate = 1000 // so that rotation is exercised too
		var seq uint32
		for ; len(ops) >= 3; ops = ops[3:] {
			n := int(ops[1])<<8 | int(ops[2])
			switch ops[0] % 4 {
			case 0:
				p := make([]byte, n)
				for i := range p {
					// Position-dependent bytes, so reordering shows.
					seq = seq*1664525 + 1013904223
					p[i] = byte(seq >> 24)
				}
				h.write(p)
			case 1:
				h.peek(n)
			case 2:
				h.discard(n % (int(h.o.Len()) + 1))
			default:
				h.reset()
			}
		}
		h.drain()
	})
}
