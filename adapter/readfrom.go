package adapter

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"sync"
	"syscall"
)

// minFileRegion is the least ReadFrom sends from a file rather than
// copies: below it, copying costs less than duplicating and closing a
// descriptor and a turn of the loop.
const minFileRegion = 64 << 10

// ReadFrom writes what src holds (io.ReaderFrom: io.Copy and
// http.ServeContent, so http.FileServer, use it). The rest of a regular
// file, under a Content-Length the handler declared (ServeContent
// declares one), is sent from the file: the channel queues a duplicate of
// its descriptor and the event loop sends it with sendfile(2), so the
// bytes are not copied through memory, nor through a temporary file for a
// slow client, and the worker does not wait for the client. net/http too
// sends files with sendfile, but from the handler's goroutine, which waits
// for the whole download. Anything else is copied through Write.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	f, lr := fileOf(src)
	if f == nil {
		return copyThrough(w, src)
	}
	var total int64
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed && w.sniff {
		// The type is detected from the body's first bytes, which go
		// through Write.
		n, err := io.CopyN(writerOnly{w}, src, sniffLen)
		total += n
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return total, err
		}
	}
	n, err := w.sendFile(f, lr)
	total += n
	if err != nil {
		return total, err
	}
	m, err := copyThrough(w, src) // what the file held beyond: usually nothing
	return total + m, err
}

// file is what sending from a descriptor needs of a source: *os.File has
// it, and so has the wrapper os.File.WriteTo gives io.Copy when its
// destination is not a socket (io.Copy(w, f) reaches ReadFrom with that).
type file interface {
	syscall.Conn
	io.Seeker
	Stat() (fs.FileInfo, error)
}

// fileOf finds the file in src, and the limit around it (io.CopyN's, and
// so ServeContent's), if any.
func fileOf(src io.Reader) (file, *io.LimitedReader) {
	lr, _ := src.(*io.LimitedReader)
	if lr != nil {
		src = lr.R
	}
	f, _ := src.(file)
	if f == nil {
		return nil, nil
	}
	return f, lr
}

// sendFile queues the rest of f, up to lr's limit, as a region of the
// response, when the response and the file allow it, and reports how much
// it queued; f's offset and lr's limit move past it, as a read would have
// moved them. Zero and no error leaves the bytes to Write.
func (w *response) sendFile(f file, lr *io.LimitedReader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.hijacked || w.isHead || !bodyAllowed(w.status) || w.tunnel() ||
		w.contentLength < 0 || w.te == chunkedFraming || w.chunked {
		return 0, nil
	}
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, nil //nolint:nilerr // not seekable: Write reads it
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, nil //nolint:nilerr // as above
	}
	if !fi.Mode().IsRegular() {
		return 0, nil
	}
	n := fi.Size() - off
	if lr != nil {
		n = min(n, lr.N)
	}
	if n < minFileRegion || w.written+n > w.contentLength {
		// Small, or more than the Content-Length allows: Write sends
		// what it may and reports http.ErrContentLength.
		return 0, nil
	}
	w.expire()
	if !w.committed {
		w.commit(false, nil)
	}
	if w.err != nil {
		return 0, w.err
	}
	ok, err := w.ch.WriteFile(f, off, n, w.contentLength-w.written-n, w.writeDeadline.get())
	if err != nil {
		w.err = err
		return 0, err
	}
	if !ok {
		return 0, nil
	}
	w.written += n
	if lr != nil {
		lr.N -= n
	}
	if _, err := f.Seek(off+n, io.SeekStart); err != nil {
		return n, err
	}
	return n, nil
}

// copyThrough copies src through Write, with a pooled buffer rather than
// the 32 KiB io.Copy would allocate per call.
func copyThrough(w *response, src io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[32 << 10]byte)
	defer copyBuffers.Put(buf)
	return io.CopyBuffer(writerOnly{w}, src, buf[:])
}

var copyBuffers = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// writerOnly hides ReadFrom so that io.Copy does not come back to it.
type writerOnly struct{ io.Writer }
