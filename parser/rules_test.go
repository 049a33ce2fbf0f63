package parser

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const host = "Host: h\r\n"

// TestRejects is the rule book: every input here must be refused with
// exactly this error (and so this status), whole and split anywhere.
func TestRejects(t *testing.T) {
	chunkedHead := "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		name  string
		input string
		lim   Limits
		want  *Error
	}{
		// Line endings and control bytes.
		{"bare LF ends request line", "GET / HTTP/1.1\n" + host + "\r\n", Limits{}, ErrBareLF},
		{"bare LF ends field line", "GET / HTTP/1.1\r\nHost: h\n\r\n", Limits{}, ErrBareLF},
		{"bare LF ends head", "GET / HTTP/1.1\r\n" + host + "\n", Limits{}, ErrBareLF},
		{"bare LF before request", "\nGET / HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrBareLF},
		{"bare CR in value", "GET / HTTP/1.1\r\n" + host + "X: a\rb\r\n\r\n", Limits{}, ErrBareCR},
		{"bare CR in target", "GET /a\rb HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrBareCR},
		{"bare CR after version", "GET / HTTP/1.1\r\r\n" + host + "\r\n", Limits{}, ErrBareCR},
		{"bare CR as field name", "GET / HTTP/1.1\r\n" + host + "\r: x\r\n\r\n", Limits{}, ErrBareCR},
		{"NUL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x00b\r\n\r\n", Limits{}, ErrFieldValue},
		{"DEL in value", "GET / HTTP/1.1\r\n" + host + "X: a\x7fb\r\n\r\n", Limits{}, ErrFieldValue},
		{"too many empty lines", strings.Repeat("\r\n", 9) + "GET / HTTP/1.1\r\n\r\n", Limits{MaxRequestLine: 16}, ErrEmptyLines},

		// Request line.
		{"lower-case garbage", "hello\r\n\r\n", Limits{}, ErrMethod},
		{"empty method", " / HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrMethod},
		{"method with separator", "GE(T / HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrMethod},
		{"two spaces after method", "GET  / HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"tab as separator", "GET\t/ HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrMethod},
		{"HTTP/0.9 request", "GET /\r\n\r\n", Limits{}, ErrTarget},
		{"space in target", "GET /a b HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrVersion},
		{"fragment in target", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"non-ASCII target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"bad percent-encoding", "GET /a%2x HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"truncated percent-encoding", "GET /a% HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"asterisk without OPTIONS", "GET * HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"authority form without CONNECT", "GET example.com:80 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"scheme without rest", "GET http: HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"absolute URI without authority", "GET urn:x HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT without port", "CONNECT example.com HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT with empty port", "CONNECT example.com: HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to port 0", "CONNECT example.com:0 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to port 65536", "CONNECT example.com:65536 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT with six-digit port", "CONNECT example.com:000443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT without host", "CONNECT :443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT with userinfo", "CONNECT u@example.com:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT with a path", "CONNECT example.com:443/x HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT in absolute form", "CONNECT http://example.com:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to unbracketed IPv6", "CONNECT ::1:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to a bad IP literal", "CONNECT [::g]:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to empty brackets", "CONNECT []:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to brackets without an IPv6 address", "CONNECT [0]:1 HTTP/1.0\r\n\r\n", Limits{}, ErrTarget},
		{"CONNECT to a bracketed IPv4 address", "CONNECT [192.0.2.1]:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT to an IPv6 address with a zone", "CONNECT [fe80::1%25eth0]:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT with percent-encoded host", "CONNECT ex%41mple.com:443 HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT asterisk", "CONNECT * HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"CONNECT in origin form without Host", "CONNECT /_goRPC_ HTTP/1.1\r\n\r\n", Limits{}, ErrMissingHost},
		{"CONNECT with Content-Length", "CONNECT h:443 HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello", Limits{}, ErrConnectContent},
		{"CONNECT chunked", "CONNECT h:443 HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Limits{}, ErrConnectContent},
		{"CONNECT in origin form with a body", "CONNECT /_goRPC_ HTTP/1.0\r\nContent-Length: 1\r\n\r\nx", Limits{}, ErrConnectContent},
		{"empty version", "GET / \r\n\r\n", Limits{}, ErrVersion},
		{"lower-case version", "GET / http/1.1\r\n" + host + "\r\n", Limits{}, ErrVersion},
		{"version with spaces", "GET / HTTP/1.1 \r\n" + host + "\r\n", Limits{}, ErrVersion},
		{"long version", "GET / HTTP/1.10\r\n" + host + "\r\n", Limits{}, ErrVersion},
		{"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", Limits{}, ErrHTTPVersion},
		{"HTTP/2.0 PRI to a path", "PRI / HTTP/2.0\r\n\r\n", Limits{}, ErrHTTPVersion},
		{"HTTP/2.0 asterisk for another method", "OPTIONS * HTTP/2.0\r\n\r\n", Limits{}, ErrHTTPVersion},
		{"HTTP/1.1 PRI *", "PRI * HTTP/1.1\r\n" + host + "\r\n", Limits{}, ErrTarget},
		{"HTTP/2 preface with Host", "PRI * HTTP/2.0\r\n" + host + "\r\n", Limits{}, ErrPreface},
		{"HTTP/2 preface with a field", "PRI * HTTP/2.0\r\nX: y\r\n\r\n", Limits{}, ErrPreface},
		{"HTTP/2 preface with content", "PRI * HTTP/2.0\r\nContent-Length: 6\r\n\r\nSM\r\n\r\n", Limits{}, ErrPreface},
		{"HTTP/2 preface chunked", "PRI * HTTP/2.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Limits{}, ErrPreface},
		{"HTTP/1.2", "GET / HTTP/1.2\r\n" + host + "\r\n", Limits{}, ErrHTTPVersion},
		{"HTTP/0.9 with version", "GET / HTTP/0.9\r\n" + host + "\r\n", Limits{}, ErrHTTPVersion},
		{"request line over limit", "GET /" + strings.Repeat("a", 20) + " HTTP/1.1\r\n" + host + "\r\n", Limits{MaxRequestLine: 20}, ErrLineTooLong},
		{"request line over limit, no CRLF yet", "GET /" + strings.Repeat("a", 40), Limits{MaxRequestLine: 20}, ErrLineTooLong},

		// Header fields.
		{"space before colon", "GET / HTTP/1.1\r\n" + host + "X : y\r\n\r\n", Limits{}, ErrFieldName},
		{"no colon", "GET / HTTP/1.1\r\n" + host + "X-y\r\n\r\n", Limits{}, ErrFieldName},
		{"empty name", "GET / HTTP/1.1\r\n" + host + ": y\r\n\r\n", Limits{}, ErrFieldName},
		{"separator in name", "GET / HTTP/1.1\r\n" + host + "X(y): z\r\n\r\n", Limits{}, ErrFieldName},
		{"obs-fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", Limits{}, ErrObsFold},
		{"obs-fold with tab", "GET / HTTP/1.1\r\n" + host + "X: a\r\n\tb\r\n\r\n", Limits{}, ErrObsFold},
		{"whitespace before first field", "GET / HTTP/1.1\r\n " + host + "\r\n", Limits{}, ErrObsFold},
		{"head over limit", "GET / HTTP/1.1\r\n" + host + "X: " + strings.Repeat("a", 100) + "\r\n\r\n", Limits{MaxHeaderBytes: 64}, ErrHeadTooLarge},
		{"too many fields", "GET / HTTP/1.1\r\n" + host + strings.Repeat("X: y\r\n", 3) + "\r\n", Limits{MaxHeaders: 3}, ErrTooManyFields},

		// Host.
		{"missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", Limits{}, ErrMissingHost},
		{"duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", Limits{}, ErrDuplicateHost},
		{"duplicate Host in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", Limits{}, ErrDuplicateHost},
		{"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Limits{}, ErrInvalidHost},
		{"Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", Limits{}, ErrInvalidHost},

		// Content-Length.
		{"CL with plus", "POST / HTTP/1.1\r\n" + host + "Content-Length: +1\r\n\r\nx", Limits{}, ErrContentLength},
		{"CL with minus", "POST / HTTP/1.1\r\n" + host + "Content-Length: -1\r\n\r\n", Limits{}, ErrContentLength},
		{"CL hex", "POST / HTTP/1.1\r\n" + host + "Content-Length: 0x1\r\n\r\nx", Limits{}, ErrContentLength},
		{"CL inner space", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1 0\r\n\r\n", Limits{}, ErrContentLength},
		{"CL list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1, 1\r\n\r\nx", Limits{}, ErrContentLength},
		{"CL empty", "POST / HTTP/1.1\r\n" + host + "Content-Length: \r\n\r\n", Limits{}, ErrContentLength},
		{"CL overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 9223372036854775808\r\n\r\n", Limits{}, ErrContentLength},
		{"CL differing duplicates", "POST / HTTP/1.1\r\n" + host + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nxx", Limits{}, ErrConflictingLength},
		{"CL over body limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 11\r\n\r\n", Limits{MaxBodyBytes: 10}, ErrBodyTooLarge},
		{"CL of 10 GB", "POST / HTTP/1.1\r\n" + host + "Content-Length: 10000000000\r\n\r\n", Limits{}, ErrBodyTooLarge},

		// Transfer-Encoding.
		{"TE gzip", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n", Limits{}, ErrUnsupportedCoding},
		{"TE gzip then chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n", Limits{}, ErrUnsupportedCoding},
		{"TE chunked then gzip", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n", Limits{}, ErrUnsupportedCoding},
		{"TE identity", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n", Limits{}, ErrUnsupportedCoding},
		{"TE chunked twice in one field", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE chunked twice in two fields", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE empty", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE empty element", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: , chunked\r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE chunked with parameter", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE with vertical tab", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \x0bchunked\r\n\r\n", Limits{}, ErrFieldValue},
		{"TE quoted", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: \"chunked\"\r\n\r\n", Limits{}, ErrTransferEncoding},
		{"TE with CL", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Limits{}, ErrChunkedWithLength},
		{"CL after TE", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", Limits{}, ErrChunkedWithLength},
		{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Limits{}, ErrTEInHTTP10},

		// Expect.
		{"unknown expectation", "GET / HTTP/1.1\r\n" + host + "Expect: 200-ok\r\n\r\n", Limits{}, ErrExpectation},

		// Chunked framing.
		{"chunk size 0x", chunkedHead + "0x1\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk size plus", chunkedHead + "+1\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkSize},
		{"chunk size minus", chunkedHead + "-1\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkSize},
		{"chunk size empty", chunkedHead + "\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkSize},
		{"chunk size leading space", chunkedHead + " 1\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkSize},
		{"chunk size trailing space", chunkedHead + "1 \r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk size overflow", chunkedHead + "10000000000000000\r\n", Limits{}, ErrChunkSize},
		{"chunk size over body limit", chunkedHead + "b\r\n", Limits{MaxBodyBytes: 10}, ErrBodyTooLarge},
		{"chunks add up over body limit", chunkedHead + "6\r\naaaaaa\r\n6\r\n", Limits{MaxBodyBytes: 10}, ErrBodyTooLarge},
		{"chunk line bare LF", chunkedHead + "1\na\r\n0\r\n\r\n", Limits{}, ErrBareLF},
		{"chunk data bare LF", chunkedHead + "1\r\na\n0\r\n\r\n", Limits{}, ErrChunkEnd},
		{"chunk data too long", chunkedHead + "1\r\nab\r\n0\r\n\r\n", Limits{}, ErrChunkEnd},
		{"last chunk bare LF", chunkedHead + "0\n\r\n", Limits{}, ErrBareLF},
		{"chunk ext without name", chunkedHead + "1;\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk ext without value", chunkedHead + "1;a=\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk ext unterminated quote", chunkedHead + "1;a=\"b\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk ext bad char", chunkedHead + "1;a=b@c\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk ext bare CR", chunkedHead + "1;a\rb\r\na\r\n0\r\n\r\n", Limits{}, ErrBareCR},
		{"chunk ext NUL in quotes", chunkedHead + "1;a=\"\x00\"\r\na\r\n0\r\n\r\n", Limits{}, ErrChunkExt},
		{"chunk ext too long", chunkedHead + "1;a=" + strings.Repeat("b", 100) + "\r\na\r\n0\r\n\r\n", Limits{MaxChunkExtension: 64}, ErrChunkLineTooLong},
		{"trailer obs-fold", chunkedHead + "0\r\nX: a\r\n b\r\n\r\n", Limits{}, ErrObsFold},
		{"trailer bare LF", chunkedHead + "0\r\nX: a\n\r\n", Limits{}, ErrBareLF},
		{"trailer Content-Length", chunkedHead + "0\r\nContent-Length: 5\r\n\r\n", Limits{}, ErrTrailerField},
		{"trailer Transfer-Encoding", chunkedHead + "0\r\nTransfer-Encoding: chunked\r\n\r\n", Limits{}, ErrTrailerField},
		{"trailer Host", chunkedHead + "0\r\nHost: evil\r\n\r\n", Limits{}, ErrTrailerField},
		{"trailers over limit", chunkedHead + "0\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n", Limits{MaxTrailerBytes: 64}, ErrTrailerTooLarge},
		{"too many trailers", chunkedHead + "0\r\n" + strings.Repeat("X: y\r\n", 3) + "\r\n", Limits{MaxHeaders: 2}, ErrTrailerTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := feed(tt.lim, tt.input)
			require.ErrorIs(t, tr.Err, tt.want)
			var perr *Error
			require.ErrorAs(t, tr.Err, &perr)
			assert.Equal(t, tt.want.Status, perr.Status)
			assert.Empty(t, tr.Requests)
			for i := 0; i <= len(tt.input); i++ {
				require.Equal(t, tr, feed(tt.lim, tt.input, i), "split at %d", i)
			}
		})
	}
}

func TestLimitsAreInclusive(t *testing.T) {
	line := "GET /" + strings.Repeat("a", 10) + " HTTP/1.1" // 24 bytes
	head := line + "\r\n" + host + "\r\n"
	tests := []struct {
		name string
		in   string
		lim  Limits
	}{
		{"request line exactly at limit", head, Limits{MaxRequestLine: len(line)}},
		{"head exactly at limit", head, Limits{MaxHeaderBytes: len(head)}},
		{"fields exactly at limit", head, Limits{MaxHeaders: 1}},
		{"body exactly at limit", "POST / HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc", Limits{MaxBodyBytes: 3}},
		{"chunked body exactly at limit", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n", Limits{MaxBodyBytes: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := feed(tt.lim, tt.in)
			require.NoError(t, tr.Err)
			require.Len(t, tr.Requests, 1)
		})
	}
	t.Run("one more byte fails", func(t *testing.T) {
		assert.ErrorIs(t, feed(Limits{MaxRequestLine: len(line) - 1}, head).Err, ErrLineTooLong)
		assert.ErrorIs(t, feed(Limits{MaxHeaderBytes: len(head) - 1}, head).Err, ErrHeadTooLarge)
	})
}

func TestDefaults(t *testing.T) {
	lim := New(Limits{}).Limits()
	assert.Equal(t, Limits{
		MaxRequestLine: DefaultMaxRequestLine, MaxHeaderBytes: DefaultMaxHeaderBytes, MaxHeaders: DefaultMaxHeaders,
		MaxBodyBytes: DefaultMaxBodyBytes, MaxChunkExtension: DefaultMaxChunkExtension, MaxTrailerBytes: DefaultMaxTrailerBytes,
	}, lim)
	assert.Equal(t, 256<<10, lim.MaxHeaderBytes, "Waitress's max_request_header_size")
	assert.Equal(t, int64(1<<30), lim.MaxBodyBytes, "Waitress's max_request_body_size")
}

// A head's fields are recorded as 32-bit offsets: limits past MaxHeadLimit
// would let a head long enough wrap them.
func TestHeadLimitsAreCapped(t *testing.T) {
	for _, n := range []int{MaxHeadLimit, MaxHeadLimit + 1, 1 << 31, 1 << 40} {
		lim := New(Limits{MaxHeaderBytes: n, MaxTrailerBytes: n}).Limits()
		assert.Equal(t, MaxHeadLimit, lim.MaxHeaderBytes, "MaxHeaderBytes %d", n)
		assert.Equal(t, MaxHeadLimit, lim.MaxTrailerBytes, "MaxTrailerBytes %d", n)
	}
	lim := New(Limits{MaxHeaderBytes: MaxHeadLimit - 1}).Limits()
	assert.Equal(t, MaxHeadLimit-1, lim.MaxHeaderBytes, "a limit below the cap stands")
}
