package load

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Errors the response reader reports. They are counted, never returned by
// Run.
var (
	errMalformed  = errors.New("load: malformed response")
	errTooLong    = errors.New("load: response header line longer than the read buffer")
	errTooMany    = errors.New("load: too many response header lines or interim responses")
	errUnexpected = io.ErrUnexpectedEOF
)

const (
	// maxHeaderLines bounds the header (and trailer) lines of one response.
	maxHeaderLines = 1000
	// maxInterim bounds the 1xx responses skipped before the final one.
	maxInterim = 16
	// discardChunk is how much a close-delimited body is skipped per call.
	discardChunk = 1 << 20
)

// response is what readResponse learned about one response.
type response struct {
	status int
	// reuse is true when the connection may carry another request: the
	// body was framed (not delimited by the close) and neither side asked
	// to close.
	reuse bool
	// started is true once any byte of the response was read; a reused
	// connection the server closed while idle fails with started false.
	started bool
}

// readResponse reads one complete response to a GET from br: interim 1xx
// responses (other than 101) are skipped, then the status line, the
// header fields that frame the body (Content-Length, Transfer-Encoding,
// Connection), and the body, which is discarded. It does not allocate.
func readResponse(br *bufio.Reader) (response, error) {
	var r response
	for interim := 0; ; interim++ {
		if interim > maxInterim {
			return r, errTooMany
		}
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			r.started = true
		}
		if err != nil {
			return r, lineError(err, r.started)
		}
		status, http11, ok := parseStatusLine(trimEOL(line))
		if !ok {
			return r, errMalformed
		}
		r.status = status
		h, err := readHeader(br)
		if err != nil {
			return r, err
		}
		if status >= 100 && status < 200 && status != 101 {
			continue // 100 Continue, 103 Early Hints: the real response follows
		}
		keep := http11 && !h.close || !http11 && h.keepAlive
		switch {
		case status < 200 || status == 204 || status == 304:
			// No body. 101 Switching Protocols leaves HTTP behind.
			r.reuse = keep && status != 101
			return r, nil
		case h.te:
			if !h.chunked {
				// RFC 9112 6.3: a transfer coding other than chunked last
				// means the body runs to the close.
				return r, discardToEOF(br)
			}
			r.reuse = keep
			return r, readChunked(br)
		case h.length >= 0:
			r.reuse = keep
			return r, discard(br, h.length)
		default:
			return r, discardToEOF(br)
		}
	}
}

// lineError converts the error of reading a line: a line longer than the
// buffer is malformed, an end of stream in the middle of a response is
// unexpected. An end of stream before any byte stays io.EOF so that the
// caller can tell an idle close from a truncated response.
func lineError(err error, started bool) error {
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return errTooLong
	case errors.Is(err, io.EOF) && started:
		return errUnexpected
	}
	return err
}

// parseStatusLine parses "HTTP/1.x SSS[ reason]" without the line end.
func parseStatusLine(line []byte) (status int, http11, ok bool) {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || !isDigit(line[7]) || line[8] != ' ' {
		return 0, false, false
	}
	if len(line) > 12 && line[12] != ' ' {
		return 0, false, false
	}
	for _, c := range line[9:12] {
		if !isDigit(c) {
			return 0, false, false
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, false, false
	}
	return status, line[7] != '0', true
}

// header is what the response head says about framing.
type header struct {
	length    int64 // Content-Length, -1 if absent
	te        bool  // a Transfer-Encoding field was present
	chunked   bool  // and its last coding is chunked
	close     bool  // Connection: close
	keepAlive bool  // Connection: keep-alive
}

// readHeader reads header lines up to and including the empty line.
func readHeader(br *bufio.Reader) (header, error) {
	h := header{length: -1}
	for n := 0; ; n++ {
		if n > maxHeaderLines {
			return h, errTooMany
		}
		line, err := br.ReadSlice('\n')
		if err != nil {
			return h, lineError(err, true)
		}
		line = trimEOL(line)
		if len(line) == 0 {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // obsolete line folding: a continuation, ignored
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return h, errMalformed
		}
		name, value := line[:colon], trimSpace(line[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseDecimal(value)
			if !ok || h.length >= 0 && h.length != n {
				return h, errMalformed
			}
			h.length = n
		case equalFold(name, "transfer-encoding"):
			h.te = true
			h.chunked = equalFold(lastToken(value), "chunked")
		case equalFold(name, "connection"):
			forEachToken(value, func(tok []byte) {
				switch {
				case equalFold(tok, "close"):
					h.close = true
				case equalFold(tok, "keep-alive"):
					h.keepAlive = true
				}
			})
		}
	}
}

// readChunked reads a chunked body and its trailer section.
func readChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return lineError(err, true)
		}
		line = trimEOL(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		size, ok := parseHex(trimSpace(line))
		if !ok {
			return errMalformed
		}
		if size == 0 {
			_, err := readHeader(br) // trailers, up to the empty line
			return err
		}
		if err := discard(br, size); err != nil {
			return err
		}
		line, err = br.ReadSlice('\n')
		if err != nil {
			return lineError(err, true)
		}
		if len(trimEOL(line)) != 0 {
			return errMalformed
		}
	}
}

// discard skips exactly n bytes.
func discard(br *bufio.Reader, n int64) error {
	for n > 0 {
		step := int(min(n, discardChunk))
		got, err := br.Discard(step)
		n -= int64(got)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return errUnexpected
			}
			return err
		}
	}
	return nil
}

// discardToEOF skips everything up to the end of the stream.
func discardToEOF(br *bufio.Reader) error {
	for {
		_, err := br.Discard(discardChunk)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// trimEOL removes a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// forEachToken calls f with each comma-separated, trimmed, non-empty token.
func forEachToken(v []byte, f func([]byte)) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		tok := v
		if i >= 0 {
			tok, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if tok = trimSpace(tok); len(tok) > 0 {
			f(tok)
		}
	}
}

// lastToken is the last comma-separated, trimmed token of v.
func lastToken(v []byte) []byte {
	var last []byte
	forEachToken(v, func(tok []byte) { last = tok })
	return last
}

// parseDecimal parses a non-negative decimal of at most 18 digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseHex parses a chunk size: hexadecimal, at most 15 digits.
func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}
