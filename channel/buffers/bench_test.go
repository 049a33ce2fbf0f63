package buffers

import (
	"io"
	"testing"
)

// BenchmarkPump is the output path: a handler writes 64 KiB, and the
// event loop sends it with Peek and Discard, here to a socket that takes
// everything. "spilled" keeps a backlog past the threshold, so every byte
// goes through the temporary file (the page cache, in practice), and the
// buffer never drains, so it rotates files as a slow download would.
func BenchmarkPump(b *testing.B) {
	const write = 64 << 10
	tests := []struct {
		name     string
		overflow int
		backlog  int
	}{
		{"memory", DefaultOutputOverflow, 0},
		{"spilled", write, 2 * write},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			o := New(tt.overflow, b.TempDir())
			defer o.Close()
			p, backlog := make([]byte, write), make([]byte, tt.backlog)
			if _, err := o.Write(backlog); err != nil {
				b.Fatal(err)
			}
			// One round, so the backlog's memory part is gone and the loop
			// measures the steady state.
			pump(b, o, p)
			if o.Spilled() != (tt.backlog > 0) {
				b.Fatal("not in the state the benchmark is named for")
			}
			b.SetBytes(write)
			b.ReportAllocs()
			for b.Loop() {
				pump(b, o, p) // rotates to a new file every 16 MiB
			}
		})
	}
}

func pump(b *testing.B, o *Overflowable, p []byte) {
	if _, err := o.Write(p); err != nil {
		b.Fatal(err)
	}
	for left := len(p); left > 0; {
		chunk, err := o.Peek(left)
		if err != nil {
			b.Fatal(err)
		}
		o.Discard(len(chunk))
		left -= len(chunk)
	}
}

// BenchmarkBody is the input path for one 1 MiB body arriving in 64 KiB
// reads and copied out by a handler: in memory, and past Waitress's
// inbuf_overflow, where half of it goes through a new temporary file.
func BenchmarkBody(b *testing.B) {
	const size, piece = 1 << 20, 64 << 10
	for _, tt := range []struct {
		name     string
		overflow int
	}{
		{"memory", 2 * size},
		{"spilled", DefaultInputOverflow},
	} {
		b.Run(tt.name, func(b *testing.B) {
			o := New(tt.overflow, b.TempDir())
			defer o.Close()
			p := make([]byte, piece)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				for range size / piece {
					if _, err := o.Write(p); err != nil {
						b.Fatal(err)
					}
				}
				r := o.Reader()
				if n, err := io.Copy(io.Discard, r); err != nil || n != size {
					b.Fatal(n, err)
				}
				o.Reset()
			}
		})
	}
}
