package soak

import (
	"io"
	"math/rand/v2"
)

// patternBlock is the bytes every large body is cut from: pseudo-random
// so that a misplaced range cannot match by accident, fixed so that both
// processes know it without exchanging it.
var patternBlock = func() []byte {
	b := make([]byte, 64<<10+13) // an odd length, so offsets do not line up with buffer sizes
	r := rand.New(rand.NewPCG(6, 6))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}()

// pattern is the body numbered seed, n bytes long: patternBlock from an
// offset that depends on seed, wrapping around. Byte i of it is
// patternByte(seed, i).
type pattern struct {
	off  int // position in patternBlock
	left int64
}

func newPattern(seed uint64, n int64) *pattern {
	return &pattern{off: int(seed*7919) % len(patternBlock), left: n}
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && p.left > 0 {
		c := copy(b[n:], patternBlock[p.off:min(len(patternBlock), p.off+int(min(p.left, int64(len(b)-n))))])
		n += c
		p.left -= int64(c)
		p.off = (p.off + c) % len(patternBlock)
	}
	return n, nil
}

// verifyPattern reads r to its end and reports whether it held exactly
// the body numbered seed, n bytes long: the same length and every byte
// in place. It returns the number of bytes read.
func verifyPattern(r io.Reader, seed uint64, n int64, buf []byte) (got int64, match bool, err error) {
	want := newPattern(seed, n)
	exp := make([]byte, len(buf))
	match = true
	for {
		k, rerr := r.Read(buf)
		if k > 0 {
			got += int64(k)
			if match {
				e, _ := io.ReadFull(want, exp[:k])
				if e != k || string(exp[:k]) != string(buf[:k]) {
					match = false
				}
			}
		}
		if rerr == io.EOF {
			return got, match && got == n, nil
		}
		if rerr != nil {
			return got, false, rerr
		}
	}
}
