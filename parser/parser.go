package parser

import "bytes"

// Event is what one call to [Parser.Parse] found.
type Event uint8

// The events, in the order a request produces them: EventHead once, then
// EventBody zero or more times, then EventDone. EventNeedMore may come
// between any two of them.
const (
	// EventNeedMore: all input was consumed and the parser needs more
	// bytes to make progress.
	EventNeedMore Event = iota
	// EventHead: the request head is complete; [Parser.Request] is valid.
	EventHead
	// EventBody: [Parser.Body] holds the next piece of the decoded body.
	EventBody
	// EventDone: the request is complete, trailers included. The bytes
	// after it were not consumed and belong to the next request.
	EventDone
	// EventError: the request is malformed; the error says how.
	EventError
)

var eventNames = [...]string{"need-more", "head", "body", "done", "error"}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "event(?)"
}

type state uint8

const (
	stHead      state = iota // reading the request line and header fields
	stBody                   // reading a Content-Length body
	stChunkSize              // reading a chunk-size line
	stChunkData              // reading chunk data
	stChunkCR                // expecting the CR after chunk data
	stChunkLF                // expecting the LF after chunk data
	stTrailer                // reading trailer fields
	stComplete               // request complete, EventDone not yet reported
	stDone                   // EventDone reported; the next byte starts a request
	stFailed                 // an error was reported; nothing more is parsed
)

// span locates a header field inside the parser's head or trailer buffer.
// Offsets rather than slices, because the buffer may move while it grows.
type span struct{ name0, name1, val0, val1 int32 }

// retainCap is the largest buffer a parser keeps between requests: an
// occasional huge head must not pin its memory to an idle connection.
const retainCap = 16 << 10

// Parser parses the requests of one connection. The zero value is not
// usable; create parsers with [New]. A Parser is not safe for concurrent
// use.
type Parser struct {
	lim   Limits
	state state
	err   *Error

	head      []byte // the head of the current request, CRLFs included
	lineStart int    // offset in head of the line being read
	sawLine   bool   // the request line has been read
	leading   int    // bytes of empty lines skipped before the request line
	fields    []span
	method    [2]int32 // offsets in head, like fields
	target    [2]int32
	host      [2]int32

	trail   []byte // trailer section
	tfields []span
	line    []byte // the chunk-size line being read

	req Request
	// Framing state gathered from the header fields.
	codings   TransferCodings
	hasLength bool
	connClose bool
	connKeep  bool
	expect    bool // some Expect field other than 100-continue

	remaining int64  // body bytes still to read: of the body or of a chunk
	total     int64  // decoded body bytes read so far
	body      []byte // the data of the last EventBody
}

// New returns a parser that enforces lim (zero fields take defaults).
func New(lim Limits) *Parser {
	p := &Parser{lim: lim.withDefaults()}
	p.Reset()
	return p
}

// Idle reports whether the parser is between requests: the last request
// is done (or none began) and no byte of the next one has been consumed,
// so that Reset would lose nothing. A connection uses it to give its
// parser back to a pool while it waits.
func (p *Parser) Idle() bool {
	return p.state == stDone || p.state == stHead && len(p.head) == 0 && p.leading == 0
}

// PartialHead is how many bytes of a head not yet complete the parser
// holds: a client may make it hold up to MaxHeaderBytes before the head
// ends, which a server with many connections may want to count. 0 once
// the head is complete.
func (p *Parser) PartialHead() int {
	if p.state != stHead {
		return 0
	}
	return len(p.head)
}

// PartialFraming is how many bytes of a chunked body's framing not yet
// complete the parser holds: the chunk-size line being read (up to
// MaxChunkExtension and a few bytes) or the trailer section so far (up to
// MaxTrailerBytes). Like PartialHead, it is for a server that counts what
// its connections hold; 0 once the trailer section ends.
func (p *Parser) PartialFraming() int {
	switch p.state {
	case stChunkSize:
		return len(p.line)
	case stTrailer:
		return len(p.trail)
	}
	return 0
}

// Limits returns the limits in force, defaults filled in.
func (p *Parser) Limits() Limits { return p.lim }

// Reset forgets the current request and any error, as for a new
// connection. Buffers are kept for reuse up to a modest size.
func (p *Parser) Reset() {
	p.state, p.err = stHead, nil
	p.head = shrink(p.head)
	p.trail = shrink(p.trail)
	p.line = shrink(p.line)
	p.lineStart, p.sawLine, p.leading = 0, false, 0
	p.fields, p.tfields = p.fields[:0], p.tfields[:0]
	p.req = Request{Headers: p.req.Headers[:0], Trailers: p.req.Trailers[:0]}
	p.codings = TransferCodings{}
	p.hasLength, p.connClose, p.connKeep, p.expect = false, false, false, false
	p.remaining, p.total, p.body = 0, 0, nil
}

func shrink(b []byte) []byte {
	if cap(b) > retainCap {
		return nil
	}
	return b[:0]
}

// Request returns the current request. Its head is valid from EventHead
// on, its trailers from EventDone on; see [Request] for how long.
func (p *Parser) Request() *Request { return &p.req }

// Body returns the decoded body bytes reported by the last EventBody. They
// alias the input given to that Parse call.
func (p *Parser) Body() []byte { return p.body }

// Err returns the error that stopped the parser, or nil.
func (p *Parser) Err() error {
	if p.err == nil {
		return nil
	}
	return p.err
}

// Parse consumes a prefix of in and reports what it found. n is how many
// bytes of in were consumed; the caller passes in[n:] (plus whatever
// arrives later) to the next call. Parse returns EventNeedMore only once
// all of in is consumed, so a caller loops until it sees EventNeedMore,
// EventError, or the EventDone it wants to stop at:
//
//	for {
//		n, ev, err := p.Parse(in)
//		in = in[n:]
//		...
//	}
//
// After EventError every further call returns the same error and consumes
// nothing: the bytes after a bad request are never parsed.
func (p *Parser) Parse(in []byte) (n int, ev Event, err error) {
	switch p.state {
	case stFailed:
		return 0, EventError, p.err
	case stDone:
		p.Reset()
	case stComplete:
		p.state = stDone
		return 0, EventDone, nil
	}
	var e *Error
	switch p.state {
	case stHead:
		n, ev, e = p.parseHead(in)
	case stBody:
		n, ev = p.parseBody(in)
	default:
		n, ev, e = p.parseChunked(in)
	}
	if e != nil {
		p.state, p.err = stFailed, e
		return n, EventError, e
	}
	return n, ev, nil
}

// parseBody reads a Content-Length body.
func (p *Parser) parseBody(in []byte) (int, Event) {
	if len(in) == 0 {
		return 0, EventNeedMore
	}
	n := len(in)
	if int64(n) > p.remaining {
		n = int(p.remaining)
	}
	p.body = in[:n]
	p.remaining -= int64(n)
	p.total += int64(n)
	if p.remaining == 0 {
		p.state = stComplete
	}
	return n, EventBody
}

// takeLine appends to *buf the bytes of in up to and including the first
// LF. It reports how many bytes it took, whether *buf now ends in a
// complete line, and whether taking them would have grown *buf past max,
// in which case it takes nothing: memory stays bounded by the limits.
func takeLine(buf *[]byte, in []byte, max int) (n int, complete, over bool) {
	i := bytes.IndexByte(in, '\n')
	n = len(in)
	if i >= 0 {
		n = i + 1
	}
	if len(*buf)+n > max {
		return 0, false, true
	}
	*buf = append(*buf, in[:n]...)
	return n, i >= 0, false
}

// lineContent returns the line at the end of buf that starts at start,
// without its CRLF, or ErrBareLF when it does not end in CRLF.
func lineContent(buf []byte, start int) ([]byte, *Error) {
	l := buf[start:]
	if len(l) < 2 || l[len(l)-2] != '\r' {
		return nil, ErrBareLF
	}
	return l[:len(l)-2], nil
}
