package parser

// TargetForm is the form of a request-target (RFC 9112 §3.2).
type TargetForm uint8

// The request-target forms a server receives.
const (
	OriginForm    TargetForm = iota // "/path?query"
	AbsoluteForm                    // "http://host/path", as sent to proxies
	AsteriskForm                    // "*", OPTIONS only
	AuthorityForm                   // "host:port", CONNECT only
)

// Header is one field line as the client sent it: the name keeps its case,
// the value has its surrounding whitespace removed.
type Header struct {
	Name, Value []byte
}

// Request is the parsed head of one request. Every byte slice in it points
// into the parser's own buffer and stays valid until the next call to
// [Parser.Parse] after the request's EventDone, or to [Parser.Reset]; a
// caller that keeps a request longer copies what it needs.
type Request struct {
	// Head is the whole request head as received, CRLFs included; every
	// other byte slice of the head is a sub-slice of it, so a caller can
	// copy Head once and re-slice the rest at the same offsets (see
	// Offset).
	Head []byte

	Method []byte
	Target []byte
	Form   TargetForm

	ProtoMajor, ProtoMinor int

	// Headers are the header fields in the order received.
	Headers []Header
	// Trailers are the trailer fields of a chunked body, in order; they
	// are complete only once the request is (EventDone).
	Trailers []Header

	// Host is the Host field value; HasHost tells an empty Host apart
	// from none.
	Host    []byte
	HasHost bool

	// ContentLength is the body length, or -1 when the body is chunked.
	ContentLength int64
	// Chunked is set when the body uses the chunked transfer coding.
	Chunked bool

	// KeepAlive reports whether the client allows the connection to be
	// reused after this request: HTTP/1.1 unless "Connection: close",
	// HTTP/1.0 only with "Connection: keep-alive".
	KeepAlive bool

	// ExpectContinue is set for an HTTP/1.1 request with
	// "Expect: 100-continue". HTTP/1.0 expectations are ignored, as RFC
	// 9110 §10.1.1 requires.
	ExpectContinue bool

	// Upgrade is set when the client sent an Upgrade field, the method
	// is CONNECT, or the request is the HTTP/2 preface ("PRI *
	// HTTP/2.0", ProtoMajor 2, never KeepAlive): what follows this
	// request on the connection may not be HTTP/1.
	Upgrade bool
}

// Offset returns where b, a sub-slice of r.Head such as a header value,
// starts within r.Head.
func (r *Request) Offset(b []byte) int { return cap(r.Head) - cap(b) }

// Proto returns the protocol version as net/http spells it.
func (r *Request) Proto() string {
	switch {
	case r.ProtoMajor == 2:
		return "HTTP/2.0" // the preface: see Upgrade
	case r.ProtoMinor == 0:
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// Get returns the value of the first header field named name, compared
// without regard to ASCII case, and whether there was one.
func (r *Request) Get(name string) ([]byte, bool) {
	for _, h := range r.Headers {
		if equalFold(h.Name, name) {
			return h.Value, true
		}
	}
	return nil, false
}
