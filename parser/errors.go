package parser

import "strconv"

// Error is a request the parser refuses. Status is the HTTP status code to
// answer with and Reason a short fixed phrase that is safe to send back to
// the client; neither ever contains request bytes. After an Error the
// connection must be answered and closed: the parser parses nothing more.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return "carhop/parser: " + strconv.Itoa(e.Status) + " " + e.Reason
}

func newError(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// The errors the parser returns. They are values so that callers can test
// for them with errors.Is and so that failing costs no allocation.
var (
	ErrBareLF            = newError(400, "line not terminated by CRLF")
	ErrBareCR            = newError(400, "bare CR")
	ErrEmptyLines        = newError(400, "too many empty lines before request")
	ErrMethod            = newError(400, "invalid method")
	ErrTarget            = newError(400, "invalid request-target")
	ErrVersion           = newError(400, "malformed HTTP version")
	ErrHTTPVersion       = newError(505, "HTTP version not supported")
	ErrLineTooLong       = newError(414, "request line too long")
	ErrHeadTooLarge      = newError(431, "request header section too large")
	ErrTooManyFields     = newError(431, "too many header fields")
	ErrFieldName         = newError(400, "invalid header field name")
	ErrFieldValue        = newError(400, "invalid header field value")
	ErrObsFold           = newError(400, "obsolete line folding")
	ErrMissingHost       = newError(400, "missing Host")
	ErrDuplicateHost     = newError(400, "duplicate Host")
	ErrInvalidHost       = newError(400, "invalid Host")
	ErrContentLength     = newError(400, "invalid Content-Length")
	ErrConflictingLength = newError(400, "conflicting Content-Length")
	ErrTransferEncoding  = newError(400, "invalid Transfer-Encoding")
	ErrUnsupportedCoding = newError(501, "unsupported transfer coding")
	ErrChunkedWithLength = newError(400, "Transfer-Encoding with Content-Length")
	ErrTEInHTTP10        = newError(400, "Transfer-Encoding in HTTP/1.0 request")
	ErrConnectContent    = newError(400, "CONNECT with content")
	ErrPreface           = newError(400, "HTTP/2 preface with header fields")
	ErrExpectation       = newError(417, "unsupported expectation")
	ErrBodyTooLarge      = newError(413, "request body too large")
	ErrChunkSize         = newError(400, "invalid chunk size")
	ErrChunkExt          = newError(400, "invalid chunk extension")
	ErrChunkLineTooLong  = newError(400, "chunk size line too long")
	ErrChunkEnd          = newError(400, "chunk data not followed by CRLF")
	ErrTrailerField      = newError(400, "forbidden trailer field")
	ErrTrailerTooLarge   = newError(431, "trailer section too large")
)
