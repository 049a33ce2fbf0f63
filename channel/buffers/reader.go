package buffers

import (
	"errors"
	"io"
)

// Reader seals the buffer against further writes and returns a reader
// over its contents for the handler: reads consume the queue, so memory
// and the temporary file are released as the body is read, and they never
// block or touch the network. The reader implements io.WriterTo, so
// io.Copy hands memory chunks to the destination without copying. Closing
// it closes the buffer. Reset or Close of the buffer disowns the reader:
// its reads then fail with ErrClosed, so a handler that keeps a body past
// its request can never read the next request's.
func (o *Overflowable) Reader() io.ReadCloser {
	o.sealed = true
	// A fresh reader per call, not one embedded in the buffer: the gen it
	// captures is what tells a stale reader from a current one.
	return &reader{o: o, gen: o.gen}
}

type reader struct {
	o   *Overflowable
	gen uint64
}

var errInvalidWrite = errors.New("carhop/buffers: invalid Write result")

func (r *reader) live() bool { return r.gen == r.o.gen && !r.o.closed }

func (r *reader) Read(p []byte) (int, error) {
	if !r.live() {
		return 0, ErrClosed
	}
	o := r.o
	if o.Len() == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && o.mem.n > 0 {
		k := copy(p[n:], o.mem.peek(len(p)-n))
		o.mem.discard(k)
		n += k
	}
	o.settle()
	if n < len(p) && o.file.len() > 0 {
		k, err := o.file.read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// WriteTo drains the buffer into w: memory chunks directly, file bytes
// through the read window. Bytes w accepted are consumed even when it then
// fails, so a retry resumes where it stopped.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	if !r.live() {
		return 0, ErrClosed
	}
	o := r.o
	var total int64
	for o.Len() > 0 {
		b, err := o.Peek(chunkSize)
		if err != nil {
			return total, err
		}
		n, err := w.Write(b)
		if n < 0 || n > len(b) {
			return total, errInvalidWrite
		}
		o.Discard(n)
		total += int64(n)
		if err != nil {
			return total, err
		}
		if n < len(b) {
			return total, io.ErrShortWrite
		}
	}
	return total, nil
}

// Close closes the buffer; closing a reader that was already disowned is
// a no-op, so it never frees a buffer that has moved on to another body.
func (r *reader) Close() error {
	if r.gen != r.o.gen {
		return nil
	}
	return r.o.Close()
}
