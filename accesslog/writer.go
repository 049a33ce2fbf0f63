package accesslog

import (
	"bufio"
	"io"
	"net"
	"net/http"
)

// responseWriter records what the handler sends. Every optional method is
// present and forwards through http.ResponseController, which follows
// Unwrap chains and reports http.ErrNotSupported when the server's writer
// lacks the feature, so wrapping never takes a feature away nor invents
// one.
type responseWriter struct {
	http.ResponseWriter
	status   int // final status; 0 until one is sent
	bytes    int64
	hijacked bool
}

func (w *responseWriter) WriteHeader(code int) {
	// 1xx (other than 101) are informational: the final status follows.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *responseWriter) WriteString(s string) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.WriteString(w.ResponseWriter, s)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps io.Copy on the server's fast path (sendfile under
// net/http) when the server's writer has one.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// writerOnly hides ReadFrom so that io.Copy does not come back here.
type writerOnly struct{ io.Writer }

func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls; it reports the
// server's error, such as a client that went away.
func (w *responseWriter) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil && w.status == 0 {
		w.status = http.StatusOK // a flush sends the head
	}
	return err
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
		if w.status == 0 {
			// The handler now speaks another protocol on the connection,
			// usually after a 101 it writes itself (as WebSocket libraries do).
			w.status = http.StatusSwitchingProtocols
		}
	}
	return c, rw, err
}

// Unwrap gives http.ResponseController the server's writer, for
// SetReadDeadline, SetWriteDeadline and EnableFullDuplex.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
