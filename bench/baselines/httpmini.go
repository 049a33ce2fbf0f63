package baselines

import (
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// This file is the whole of HTTP that the baselines speak: just enough to
// be honest with real clients (framing, keep-alive, pipelining, bodies
// skipped), so that the designs differ only in how they wait.

// body is what every baseline answers, the same as bench/peers.Body.
const body = "Hello, World!"

// bigPath is where every baseline answers bigBody instead, as the peers
// answer bench/peers.Big at bench/peers.BigPath: the slow-read scenario's
// response, which a blocking design writes from the goroutine or process
// that serves the connection, and an event loop from its buffers.
const bigPath = "/big"

var bigBody = strings.Repeat("x", 1<<20)

// maxHead bounds a request head, CRLFCRLF included. 8 KiB is what NGINX
// allows per header line by default and far more than benchmark clients
// send; without a bound a client could grow a buffer forever.
const maxHead = 8 << 10

// readSize is what one read asks for in the blocking designs.
const readSize = 4 << 10

// request is all that a response depends on.
type request struct {
	status    int  // 200, 100 for an interim 100 Continue, or the error to answer
	keepAlive bool // false: the connection closes after this response
	http10    bool // an HTTP/1.0 client needs keep-alive spelled out
	head      bool // HEAD: the same headers, no body
	big       bool // answer bigBody
}

// reader finds requests in a connection's input. It does no I/O, so the
// blocking designs and the event loops share it.
type reader struct {
	buf  []byte // input; buf[off:] is not parsed yet
	off  int
	skip int64 // body bytes of pending still to discard

	// A request with a body is answered once its body is gone, as Waitress
	// does: answering early would leave the connection's state to the
	// client's choice of sending the rest or not.
	pending request
	expect  bool // pending asked for 100-continue and has not had it
	stopped bool // a request ended the connection: parse nothing after it
}

// feed adds input after what the reader holds.
func (r *reader) feed(p []byte) {
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	} else if r.off > 0 && len(r.buf)+len(p) > cap(r.buf) {
		r.buf, r.off = r.buf[:copy(r.buf, r.buf[r.off:])], 0
	}
	r.buf = append(r.buf, p...)
}

// buffered reports whether unparsed input remains.
func (r *reader) buffered() bool { return r.off < len(r.buf) }

// release drops the input buffer of a reader holding nothing, so that an
// idle connection in an event loop costs no buffer at all.
func (r *reader) release() {
	if !r.buffered() {
		r.buf, r.off = nil, 0
	}
}

// next returns the next request in the input, or false when more input is
// needed or the connection is done.
func (r *reader) next() (request, bool) {
	for !r.stopped {
		in := r.buf[r.off:]
		if r.skip > 0 {
			n := min(r.skip, int64(len(in)))
			r.off += int(n)
			r.skip -= n
			if r.skip > 0 {
				if r.expect {
					r.expect = false
					return request{status: statusContinue, keepAlive: true}, true
				}
				return request{}, false
			}
			r.expect = false
			return r.finish(r.pending), true
		}
		// RFC 9112 §2.2: ignore empty lines before a request line.
		for len(in) >= 2 && in[0] == '\r' && in[1] == '\n' {
			in = in[2:]
			r.off += 2
		}
		end := bytes.Index(in[:min(len(in), maxHead)], crlfcrlf)
		if end < 0 {
			if len(in) >= maxHead {
				return r.finish(request{status: statusRequestHeaderFieldsTooLarge}), true
			}
			return request{}, false
		}
		r.off += end + len(crlfcrlf)
		req, length, expect := parseHead(in[:end+2])
		if req.status != statusOK || length == 0 {
			return r.finish(req), true
		}
		r.pending, r.skip, r.expect = req, length, expect
	}
	return request{}, false
}

func (r *reader) finish(req request) request {
	if req.status != statusOK {
		req.keepAlive = false
	}
	r.stopped = !req.keepAlive
	return req
}

var crlfcrlf = []byte("\r\n\r\n")

// parseHead reads a request head whose lines each end in CRLF. It returns
// the request, its Content-Length, and whether it expects 100-continue.
func parseHead(head []byte) (req request, length int64, expect bool) {
	bad := request{status: statusBadRequest}
	line, rest, _ := bytes.Cut(head, crlf)
	if bytes.ContainsAny(line, "\r\n") {
		return bad, 0, false
	}
	method, line, ok1 := bytes.Cut(line, sp)
	target, version, ok2 := bytes.Cut(line, sp)
	if !ok1 || !ok2 || !isToken(method) || len(target) == 0 || bytes.ContainsAny(target, " \t") {
		return bad, 0, false
	}
	switch {
	case string(version) == "HTTP/1.1":
	case string(version) == "HTTP/1.0":
		req.http10 = true
	case len(version) == 8 && bytes.HasPrefix(version, []byte("HTTP/")) && version[6] == '.' &&
		isDigit(version[5]) && isDigit(version[7]):
		return request{status: statusHTTPVersionNotSupported}, 0, false
	default:
		return bad, 0, false
	}
	req.head = string(method) == methodHead
	req.big = string(target) == bigPath
	length = -1
	var hosts int
	var closeTok, keepAliveTok, chunked bool
	for len(rest) > 0 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(line, colon)
		// A bare CR or LF inside a line is a line break to some parsers:
		// refuse what two servers would read differently.
		if !ok || !isToken(name) || bytes.ContainsAny(value, "\r\n") { // also refuses obs-fold
			return bad, 0, false
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseLength(value)
			if !ok || (length >= 0 && n != length) {
				return bad, 0, false
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = true
		case bytes.EqualFold(name, []byte("Host")):
			hosts++
		case bytes.EqualFold(name, []byte("Connection")):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				tok = bytes.Trim(tok, " \t")
				closeTok = closeTok || bytes.EqualFold(tok, []byte("close"))
				keepAliveTok = keepAliveTok || bytes.EqualFold(tok, []byte("keep-alive"))
			}
		case bytes.EqualFold(name, []byte("Expect")):
			expect = bytes.EqualFold(value, []byte("100-continue"))
		}
	}
	// RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host.
	if hosts > 1 || (hosts == 0 && !req.http10) {
		return bad, 0, false
	}
	// Without decoding chunks there is no finding the next request: say
	// so rather than guess.
	if chunked {
		return request{status: statusNotImplemented}, 0, false
	}
	req.status = statusOK
	req.keepAlive = !closeTok && (!req.http10 || keepAliveTok)
	return req, max(length, 0), expect && !req.http10
}

var (
	crlf  = []byte("\r\n")
	sp    = []byte(" ")
	colon = []byte(":")
)

// parseLength accepts only digits: strconv would also take a sign.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is an RFC 9110 token (method, header name).
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', isDigit(c):
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// appendResponse appends the response to req.
func appendResponse(dst []byte, req request) []byte {
	if req.status == statusContinue {
		return append(dst, "HTTP/1.1 100 Continue\r\n\r\n"...)
	}
	text := body
	switch {
	case req.status != statusOK:
		text = statusText(req.status)
	case req.big:
		text = bigBody
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(req.status), 10)
	dst = append(dst, ' ')
	dst = append(dst, statusText(req.status)...)
	dst = append(dst, "\r\n"...)
	dst = append(dst, dateLine()...)
	dst = append(dst, "Content-Type: text/plain\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(text)), 10)
	switch {
	case !req.keepAlive:
		dst = append(dst, "\r\nConnection: close"...)
	case req.http10:
		dst = append(dst, "\r\nConnection: keep-alive"...)
	}
	dst = append(dst, "\r\n\r\n"...)
	if !req.head {
		dst = append(dst, text...)
	}
	return dst
}

// dateLine returns the Date header line. RFC 9110 §6.6.1 asks an origin
// server with a clock to send one, and the real servers compared with
// these do; formatting it once a second keeps it off the profile.
func dateLine() []byte {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.line
	}
	line := now.UTC().AppendFormat([]byte("Date: "), timeFormat)
	d := &cachedDate{sec: now.Unix(), line: append(line, "\r\n"...)}
	dateCache.Store(d)
	return d.line
}

type cachedDate struct {
	sec  int64
	line []byte
}

var dateCache atomic.Pointer[cachedDate]

// serve answers requests on c, in order, until the client leaves, a
// response closes the connection, or c is closed under it. It is the whole
// server of the blocking designs; only who calls it differs.
func serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	var r reader
	in := make([]byte, readSize)
	var out []byte
	for {
		n, err := c.Read(in)
		r.feed(in[:n])
		closing := false
		for !closing {
			req, ok := r.next()
			if !ok {
				break
			}
			out = appendResponse(out, req)
			closing = !req.keepAlive
		}
		// One write for everything a read brought in: pipelined requests
		// are answered together and in order.
		if len(out) > 0 {
			if _, werr := c.Write(out); werr != nil {
				return
			}
			out = out[:0]
		}
		if closing || err != nil {
			return
		}
	}
}
