package parser

// Limits bound what one request may claim. A zero field takes its default,
// so Limits{} is the default configuration. The defaults follow Waitress
// where it has a setting and the common practice of NGINX where it has not;
// docs/parser.md gives the reasoning for each.
type Limits struct {
	// MaxRequestLine bounds the request line, without its CRLF; longer
	// lines get 414. Default 16 KiB: NGINX's default buffer is 8 KiB and
	// long query strings from real applications fit comfortably in 16.
	MaxRequestLine int

	// MaxHeaderBytes bounds the whole request head: request line, header
	// fields and the empty line ending them. Exceeding it gets 431.
	// Default 256 KiB, Waitress's max_request_header_size.
	MaxHeaderBytes int

	// MaxHeaders bounds the number of header fields, and separately the
	// number of trailer fields; more get 431. Default 100, as Apache's
	// LimitRequestFields: the fixed per-field cost is then bounded too.
	MaxHeaders int

	// MaxBodyBytes bounds the decoded body; a larger Content-Length is
	// refused with 413 before any of the body is read, and a chunked body
	// is refused the moment it would pass the limit. Default 1 GiB,
	// Waitress's max_request_body_size.
	MaxBodyBytes int64

	// MaxChunkExtension bounds the chunk extensions on one chunk-size
	// line; longer lines get 400. Default 4 KiB.
	MaxChunkExtension int

	// MaxTrailerBytes bounds the trailer section of a chunked body; a
	// larger one gets 431. Default 64 KiB.
	MaxTrailerBytes int
}

// Default limits, exported so that documentation and options can quote them.
const (
	DefaultMaxRequestLine    = 16 << 10
	DefaultMaxHeaderBytes    = 256 << 10
	DefaultMaxHeaders        = 100
	DefaultMaxBodyBytes      = 1 << 30
	DefaultMaxChunkExtension = 4 << 10
	DefaultMaxTrailerBytes   = 64 << 10
)

// MaxHeadLimit is the largest MaxHeaderBytes and MaxTrailerBytes a Parser
// takes; larger ones are lowered to it. The parser records where each
// field stands in a head in 32 bits, and a server may count a request's
// head and trailers together in 32 bits: a head past 2 GiB would wrap
// them, and a server that took one would be misreading headers or
// panicking on the loop. No real head comes near this limit.
const MaxHeadLimit = 512 << 20

// withDefaults returns l with every zero or negative field replaced by its
// default, and the head and trailer limits lowered to MaxHeadLimit.
func (l Limits) withDefaults() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultMaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultMaxHeaders
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxChunkExtension <= 0 {
		l.MaxChunkExtension = DefaultMaxChunkExtension
	}
	if l.MaxTrailerBytes <= 0 {
		l.MaxTrailerBytes = DefaultMaxTrailerBytes
	}
	l.MaxHeaderBytes = min(l.MaxHeaderBytes, MaxHeadLimit)
	l.MaxTrailerBytes = min(l.MaxTrailerBytes, MaxHeadLimit)
	return l
}
