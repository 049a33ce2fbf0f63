package adapter

import (
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/net/http/httpguts"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/internal/clock"
	"github.com/carhop/carhop/parser"
)

// bufferBeforeChunking is how much body a response holds back before
// choosing its framing: a handler that writes less and returns gets a
// Content-Length, as with net/http (which holds 2 KiB; a 4 KiB page is
// common enough to be worth the extra).
const bufferBeforeChunking = 4 << 10

// response is the http.ResponseWriter of one request. It belongs to the
// worker running the handler.
type response struct {
	s   *Server
	ch  *channel.Channel
	req *http.Request

	header      http.Header
	status      int
	wroteHeader bool // a final status was set
	committed   bool // the head has gone to the channel
	// head is the status line and the handler's header fields as they
	// stood at WriteHeader (or the first Write), formatted then: as with
	// net/http, changing the header afterwards has no effect, trailers
	// apart. The facts below are the rest of that snapshot, for commit.
	head       *bytebufferpool.ByteBuffer
	connection []string // the handler's Connection values
	sniff      bool     // neither Content-Type nor Content-Encoding: commit detects the type
	hasDate    bool
	hasServer  bool
	prefixed   bool                       // trailers set under http.TrailerPrefix
	te         framing                    // what the handler's Transfer-Encoding asks for
	held       *bytebufferpool.ByteBuffer // body not sent yet; for HEAD, its first bytes, to sniff
	isHead     bool
	keepAlive  bool

	contentLength int64 // declared by the handler, -1 if not
	written       int64
	chunked       bool
	trailers      []string // declared trailer names
	hijacked      bool
	handover      bool  // Hijack is sending the head: what follows is the handler's to frame
	err           error // the channel refused a write (the client is gone) or the write deadline passed

	writeDeadline deadline
	readDeadline  *deadline // r.Body's (SetReadDeadline); nil without a body

	leave func() // gives the worker's place to a new worker (channel.Config.Serve's release); nil once used
	left  bool   // channel.Leave took leave: the handler runs beside the pool
}

// responses recycles response writers and their header maps: a handler
// may not use either after it returns (http.ResponseWriter's contract),
// and they were two of the allocations every request made.
var responses = sync.Pool{New: func() any { return &response{header: make(http.Header)} }}

func newResponse(s *Server, ch *channel.Channel, req *http.Request, keepAlive bool, rd *deadline, leave func()) *response {
	w := responses.Get().(*response)
	*w = response{
		s: s, ch: ch, req: req, readDeadline: rd, leave: leave,
		header:        w.header,
		isHead:        req.Method == http.MethodHead,
		keepAlive:     keepAlive,
		contentLength: -1,
		trailers:      w.trailers[:0],
	}
	return w
}

// putBuffers returns the held body and the formatted head, if any, to
// their pool: they will not be sent.
func (w *response) putBuffers() {
	if w.held != nil {
		bytebufferpool.Put(w.held)
		w.held = nil
	}
	if w.head != nil {
		bytebufferpool.Put(w.head)
		w.head = nil
	}
}

// recycle returns w to the pool once the request is finished.
func (w *response) recycle() {
	w.putBuffers()
	clear(w.header)
	clear(w.trailers)
	*w = response{header: w.header, trailers: w.trailers[:0]}
	responses.Put(w)
}

func (w *response) Header() http.Header { return w.header }

// WriteHeader sends informational (1xx but 101) responses at once and
// records any other status for the head.
func (w *response) WriteHeader(code int) {
	if w.hijacked || w.wroteHeader {
		if !w.hijacked {
			w.s.cfg.logger.Warn("carhop: superfluous WriteHeader call", "status", code, "path", w.req.URL.Path)
		}
		return
	}
	if code < 100 || code > 999 {
		panic("carhop: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.informational(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	if cl := first(w.header, "Content-Length"); cl != "" && !w.tunnel() {
		if n, ok := parser.ParseContentLength([]byte(cl)); ok {
			w.contentLength = n
		} else {
			w.s.cfg.logger.Warn("carhop: invalid Content-Length set by handler", "value", cl)
			w.header.Del("Content-Length")
		}
	}
	w.snapshot()
}

// snapshot formats the status line and the header as they stand, and
// notes what commit needs to know of them. Framing fields are the
// server's: Transfer-Encoding is never the handler's, Connection is
// written by commit, and Content-Length only where a body may follow.
func (w *response) snapshot() {
	h := w.header
	for _, v := range h["Trailer"] {
		w.trailers = append(w.trailers, splitList(v)...)
	}
	switch te := first(h, "Transfer-Encoding"); {
	case te == "":
	case strings.EqualFold(te, "identity"):
		w.te = closeDelimited
	default:
		w.te = chunkedFraming
	}
	_, typed := h["Content-Type"]
	w.sniff = !typed && first(h, "Content-Encoding") == "" && w.te == anyFraming
	_, w.hasDate = h["Date"]
	_, w.hasServer = h["Server"]
	// A copy, as the rest of the snapshot is: commit reads it later, and a
	// handler may still change the header's slices in place. Only
	// handlers that set Connection pay for it.
	w.connection = slices.Clone(h["Connection"])
	omit := omitTransferEncoding | omitConnection
	if !bodyAllowed(w.status) || w.tunnel() {
		omit |= omitContentLength
	}
	if w.status == http.StatusNotModified {
		omit |= omitContentType // as net/http: a 304 carries no representation metadata (RFC 9110 §15.4.5)
	}
	if w.te == chunkedFraming && w.contentLength >= 0 {
		// Both cannot frame the body. As net/http: the coding frames it,
		// the length goes unsent but still bounds the writes.
		w.s.cfg.logger.Warn("carhop: handler set both Transfer-Encoding and Content-Length; the length is not sent",
			"path", w.req.URL.Path)
		omit |= omitContentLength
	}
	w.head = bytebufferpool.Get()
	writeStatusLine(w.head, w.req.ProtoAtLeast(1, 1), w.status)
	w.prefixed = writeFields(w.head, h, omit)
}

// first is h.Get(k) for a canonical k, without canonicalizing k again:
// the response path looks up a few fields for every request.
func first(h http.Header, k string) string {
	if vs := h[k]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// informational writes a 1xx response with the header as it stands, as
// net/http does for 103 Early Hints.
func (w *response) informational(code int) {
	if w.req.ProtoAtLeast(1, 1) {
		b := bytebufferpool.Get()
		writeStatusLine(b, true, code)
		writeFields(b, w.header, omitTransferEncoding|omitContentLength)
		b.B = append(b.B, "\r\n"...)
		w.send(b.B)
		bytebufferpool.Put(b)
		_ = w.ch.Flush()
	}
}

func bodyAllowed(status int) bool {
	return (status < 100 || status > 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) { return write(w, p) }

// WriteString is Write without converting s first where it can: a string
// that the held buffer takes is appended as it is. Converting it would
// cost a heap allocation per call, because bytes that go on to the
// socket pass through an interface (channel.Conn's TryWrite) and so
// escape.
func (w *response) WriteString(s string) (int, error) { return write(w, s) }

func write[T string | []byte](w *response, p T) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, w.err
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	w.expire()
	if w.err != nil {
		return 0, w.err
	}
	// Counted even when refused, as net/http does: once a handler has
	// broken its Content-Length, every later write fails too, and the
	// connection closes after the response (finish), the body being
	// shorter than it says.
	w.written += int64(len(p))
	if w.contentLength >= 0 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if w.isHead {
		if w.sniff && !w.committed {
			// Nothing is sent, but the type is detected as for GET.
			if w.held == nil {
				w.held = bytebufferpool.Get()
			}
			if room := sniffLen - len(w.held.B); room > 0 {
				w.held.B = append(w.held.B, p[:min(room, len(p))]...)
			}
		}
		return len(p), nil
	}
	if !w.committed {
		if w.held == nil {
			w.held = bytebufferpool.Get()
		}
		if len(w.held.B)+len(p) <= bufferBeforeChunking {
			w.held.B = append(w.held.B, p...)
			return len(p), nil
		}
		b := []byte(p)
		w.commit(false, b)
		w.body(b)
	} else {
		w.body([]byte(p))
	}
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// expire breaks the response once the write deadline has passed.
func (w *response) expire() {
	if w.err == nil && w.writeDeadline.passed() {
		w.err = os.ErrDeadlineExceeded
	}
}

// Flush sends the head and everything written so far now (http.Flusher).
func (w *response) Flush() {
	if w.hijacked {
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.expire()
	if !w.committed {
		w.commit(false, nil)
	}
	if w.err != nil {
		return
	}
	if err := w.ch.Flush(); err != nil {
		w.err = err
		return
	}
	w.leavePool()
}

// leavePool gives the handler's worker to the requests queued behind it:
// a handler that flushes streams its response for as long as it likes
// (server-sent events), and one that hijacks runs as long as the
// connection it took, so neither should count against WithThreads, where
// as many of them as there are threads would leave no worker to answer
// anyone else. The handler stops counting against them at once, and goes
// on on its goroutine, as on net/http, while a new worker takes its place
// once a request needs one (task.Releaser). It counts against the
// descriptor budget instead (channel.Leave); when that is spent it keeps
// its worker, and tries again at its next flush. It reports false only
// then.
func (w *response) leavePool() bool {
	if w.leave == nil {
		return true
	}
	if !w.ch.Leave(w.leave) {
		w.s.warnStayed()
		return false
	}
	w.leave = nil
	w.left = true
	return true
}

// FlushError is Flush for http.ResponseController, with the error.
func (w *response) FlushError() error {
	w.Flush()
	return w.err
}

// commit chooses the framing and sends the head (snapshot) and any held
// body. final means the handler has returned, so the held body is all of
// it; next is the write that made the held body overflow, if any. Like
// net/http, the fields the server adds (Date, Server, Content-Length,
// Transfer-Encoding, Connection) are written beside the handler's header,
// not into it.
func (w *response) commit(final bool, next []byte) {
	w.committed = true
	is11 := w.req.ProtoAtLeast(1, 1)
	held := 0
	if w.held != nil {
		held = len(w.held.B)
	}

	var extra extraFields
	if w.sniff && bodyAllowed(w.status) && held+len(next) > 0 {
		extra.contentType = http.DetectContentType(sniffed(w.held, next))
	}
	if !w.hasDate {
		extra.date = w.s.date.get(clock.Now())
	}
	if !w.hasServer {
		extra.server = w.s.cfg.ident
	}

	// A drain closes after the last request the connection has queued:
	// those pipelined behind this one are answered first, as queued and
	// running requests are (net/http's Shutdown drops them).
	wantsClose := !w.keepAlive || w.s.draining.Load() && !w.ch.Queued() || w.s.noKeepAlive.Load() ||
		httpguts.HeaderValuesContainsToken(w.connection, "close")
	// A HEAD answer says what the GET's would: no length where the GET
	// would have outgrown the held buffer and been chunked.
	headOfChunked := w.isHead && w.written > bufferBeforeChunking
	extra.contentLength = -1
	switch {
	case w.handover:
		// The connection is the handler's now: the server frames nothing.
	case w.tunnel():
		// RFC 9110 §9.3.6: no Content-Length or Transfer-Encoding in a
		// 2xx to CONNECT, whose client takes what follows for the
		// tunnel's. Unless the handler takes the tunnel (Hijack),
		// whatever it writes ends when the connection does, and nothing
		// after the CONNECT is read as HTTP: a proxy in front would pass
		// it on unchecked. No "Connection: close" either: the client has
		// stopped reading HTTP.
		w.keepAlive = false
	case !bodyAllowed(w.status):
	case w.contentLength >= 0 && w.te != chunkedFraming:
		// The handler's own length, in the head already; trailers cannot
		// follow it.
	case final && len(w.trailers) == 0 && !w.prefixed && !headOfChunked && w.te == anyFraming:
		if !w.isHead || w.written > 0 {
			extra.contentLength = w.written
		}
	case w.isHead:
		// Nothing follows a HEAD response; leave the length unknown.
	case is11 && w.te != closeDelimited:
		w.chunked = true
		extra.chunked = true
	default:
		wantsClose = true // HTTP/1.0: the body ends when the connection does
	}
	if w.status == http.StatusSwitchingProtocols {
		wantsClose = false
	}
	b := w.head
	w.head = nil
	extra.write(b)
	switch {
	case w.handover || w.tunnel():
		writeField(b, "Connection", w.connection)
	case wantsClose:
		w.keepAlive = false
		b.B = append(b.B, "Connection: close\r\n"...)
	case !is11:
		b.B = append(b.B, "Connection: keep-alive\r\n"...)
	default:
		writeField(b, "Connection", w.connection) // the handler's (Upgrade, say)
	}
	b.B = append(b.B, "\r\n"...)
	if held > 0 && !w.isHead { // one write to the channel for head and held body
		if w.chunked {
			b.B = appendChunk(b.B, w.held.B)
		} else {
			b.B = append(b.B, w.held.B...)
		}
	}
	w.send(b.B)
	bytebufferpool.Put(b)
	w.putBuffers()
}

// framing is what a handler's Transfer-Encoding field asks of the
// server, which frames the body itself, as net/http does: "chunked" (or
// any other coding) forces chunked framing even for a body that would
// get a Content-Length, and "identity" asks for no framing at all, the
// body ending when the connection does (Server-Sent Events' old advice).
// Either way the field is not sent as the handler wrote it.
type framing uint8

const (
	anyFraming framing = iota
	chunkedFraming
	closeDelimited
)

// sniffLen is how much of a body http.DetectContentType reads.
const sniffLen = 512

// sniffed is the start of the body, for http.DetectContentType: held,
// then next.
func sniffed(held *bytebufferpool.ByteBuffer, next []byte) []byte {
	var h []byte
	if held != nil {
		h = held.B
	}
	switch {
	case len(h) >= sniffLen || len(next) == 0:
		return h
	case len(h) == 0:
		return next
	}
	return append(h[:len(h):len(h)], next[:min(len(next), sniffLen-len(h))]...)
}

// body sends body bytes with the chosen framing.
func (w *response) body(p []byte) {
	if !w.chunked {
		w.send(p)
		return
	}
	var size [20]byte
	line := strconv.AppendInt(size[:0], int64(len(p)), 16)
	line = append(line, '\r', '\n')
	w.send(line)
	w.send(p)
	w.send(crlf)
}

var crlf = []byte("\r\n")

// appendChunk appends p to b as one chunk of a chunked body.
func appendChunk(b, p []byte) []byte {
	b = strconv.AppendInt(b, int64(len(p)), 16)
	b = append(b, '\r', '\n')
	b = append(b, p...)
	return append(b, '\r', '\n')
}

func (w *response) send(p []byte) {
	if w.err != nil {
		return
	}
	if err := w.ch.WriteBy(p, w.more(), w.writeDeadline.get()); err != nil {
		w.err = err
	}
}

// more is how many body bytes the handler has yet to write by its own
// Content-Length, or -1 if it declared none: the channel spills output
// for a slow client only if that lets the worker go (channel.Write). A
// handler that has left the pool has no worker to let go, so its output
// never spills (channel.Endless): a stream read slowly holds a pump's
// worth of memory (64 KiB), not WithOutbufHighWatermark of disk.
func (w *response) more() int64 {
	if w.left {
		return channel.Endless
	}
	if w.chunked || w.contentLength < 0 || w.isHead || !bodyAllowed(w.status) {
		return -1
	}
	return max(w.contentLength-w.written, 0)
}

// finish completes the response after the handler returned and reports
// whether the connection may serve another request.
func (w *response) finish() bool {
	if w.hijacked {
		return false
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, nil)
	}
	if w.chunked {
		b := bytebufferpool.Get()
		b.B = append(b.B, "0\r\n"...)
		writeTrailers(b, w.header, w.trailers)
		b.B = append(b.B, "\r\n"...)
		w.send(b.B)
		bytebufferpool.Put(b)
	}
	if w.contentLength >= 0 && w.written != w.contentLength && !w.isHead && bodyAllowed(w.status) {
		// The body is shorter than promised: only closing can tell.
		w.keepAlive = false
	}
	return w.keepAlive && w.err == nil
}

// abort is finish for a handler that panicked: a 500 if nothing was sent,
// otherwise the connection is closed mid-response.
func (w *response) abort() {
	if w.hijacked {
		return
	}
	if !w.committed {
		w.putBuffers()
		w.trailers, w.prefixed = w.trailers[:0], false
		w.header = http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}
		w.wroteHeader, w.contentLength, w.written = false, -1, 0
		w.keepAlive = false
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Internal Server Error\n"))
		w.finish()
	}
}

// tunnel reports whether the response accepts a CONNECT: a 2xx turns
// the connection into a tunnel (RFC 9110 §9.3.6).
func (w *response) tunnel() bool {
	return w.status/100 == 2 && w.req.Method == http.MethodConnect
}
