package reliability

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/parser"
)

// recorder is a handler that answers every request with a fixed response
// naming its path, and records the paths it served: what the server
// executed, as opposed to what it answered.
type recorder struct {
	mu    sync.Mutex
	paths []string
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/slow" {
		time.Sleep(50 * time.Millisecond) // the next, bad, request is parsed meanwhile
	}
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	h.paths = append(h.paths, r.URL.Path)
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "served "+r.URL.Path+"\n")
}

// take returns the paths served since the last take.
func (h *recorder) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.paths
	h.paths = nil
	return p
}

// ok is the exact response the recorder gives for path (Date elided).
func ok(path string) string {
	body := "served " + path + "\n"
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: *\r\nServer: carhop\r\n"+
		"Content-Length: %d\r\n\r\n%s", len(body), body)
}

// okClose is ok for a request that asked to close the connection.
func okClose(path string) string {
	body := "served " + path + "\n"
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: *\r\nServer: carhop\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// refused is the exact response to a refused request (Date elided): the
// status, a fixed reason that never echoes request bytes, and close.
func refused(status int, reason string) string {
	body := fmt.Sprintf("%d %s: %s\n", status, http.StatusText(status), reason)
	return fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n"+
		"Connection: close\r\nDate: *\r\nServer: carhop\r\n\r\n%s", status, http.StatusText(status), len(body), body)
}

var dateLine = regexp.MustCompile(`\r\nDate: [^\r\n]*\r\n`)

func elideDate(s string) string { return dateLine.ReplaceAllString(s, "\r\nDate: *\r\n") }

const (
	hostH    = "Host: h\r\n"
	smuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n"
	closing  = "GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
	chunked  = "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
)

// smuggleCase is one byte stream sent in a single write on a fresh
// connection, the exact transcript the server must send back before it
// closes, and the paths the handler must have run, in order.
type smuggleCase struct {
	name   string
	in     string
	want   []string
	served []string
}

// smugglingCases are grouped by class; docs/security.md cites them by name.
var smugglingCases = []smuggleCase{
	// Framing that is accepted: the boundaries fall where RFC 9112 says,
	// so a request hidden in a body stays body.
	{"accepted/CL body holding a request", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 35\r\n\r\n" + smuggled + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/chunked body holding a request", chunked + "23\r\n" + smuggled + "\r\n0\r\n\r\n" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/chunk extensions dropped", chunked + "5;a=b;q=\"x;\\\"y\"\r\nhello\r\n0;z\r\n\r\n" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/chunk size with leading zeros", chunked + "000000000000000000005\r\nhello\r\n0\r\n\r\n" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/trailer fields", chunked + "5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/identical duplicate CL", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 003\r\n\r\nabc" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/GET with a body", "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 35\r\n\r\n" + smuggled + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},
	{"accepted/empty lines before request", "\r\n\r\n" + closing,
		[]string{okClose("/last")}, []string{"/last"}},
	{"accepted/Upgrade not taken, next request still HTTP", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + closing,
		[]string{ok("/a"), okClose("/last")}, []string{"/a", "/last"}},

	// Line endings and control bytes (CVE-2019-16785, CVE-2019-16789).
	{"CR-LF/bare LF ends request line", "GET /a HTTP/1.1\nHost: h\n\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"CR-LF/bare LF ends field line", "GET /a HTTP/1.1\r\nHost: h\nX: y\r\n\r\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"CR-LF/LF inside a value hides a field", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"CR-LF/bare LF ends head", "GET /a HTTP/1.1\r\nHost: h\r\n\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"CR-LF/bare CR in value", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n" + smuggled,
		[]string{refused(400, "bare CR")}, nil},
	{"CR-LF/bare CR in target", "GET /a\rb HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "bare CR")}, nil},
	{"CR-LF/bare LF ends chunk-size line", chunked + "5\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"CR-LF/bare LF ends chunk data", chunked + "5\r\nhello\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "chunk data not followed by CRLF")}, nil},
	{"CR-LF/bare LF ends last chunk", chunked + "0\n\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"NUL/in value", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field value")}, nil},
	{"NUL/in name", "GET /a HTTP/1.1\r\nHost: h\r\nX\x00: b\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field name")}, nil},
	{"NUL/in target", "GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"NUL/in method", "G\x00T /a HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid method")}, nil},
	{"controls/VT before chunked", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field value")}, nil},
	{"controls/FF in value", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\x0cb\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field value")}, nil},
	{"controls/DEL in value", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\x7fb\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field value")}, nil},

	// Header field syntax.
	{"fields/obs-fold", "GET /a HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n" + smuggled,
		[]string{refused(400, "obsolete line folding")}, nil},
	{"fields/obs-fold continues Transfer-Encoding", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\tchunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "obsolete line folding")}, nil},
	{"fields/whitespace before first field", "GET /a HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "obsolete line folding")}, nil},
	{"fields/space before colon", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field name")}, nil},
	{"fields/no colon", "GET /a HTTP/1.1\r\nHost: h\r\nX-y\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid header field name")}, nil},
	{"fields/duplicate Host", "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + smuggled,
		[]string{refused(400, "duplicate Host")}, nil},
	{"fields/missing Host", "GET /a HTTP/1.1\r\n\r\n" + smuggled,
		[]string{refused(400, "missing Host")}, nil},
	{"fields/Host with userinfo", "GET /a HTTP/1.1\r\nHost: u@h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Host")}, nil},

	// Content-Length and Transfer-Encoding (CVE-2019-16786, CVE-2019-16792,
	// CVE-2022-24761).
	{"CL-TE/CL then TE", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "Transfer-Encoding with Content-Length")}, nil},
	{"CL-TE/TE then CL", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "Transfer-Encoding with Content-Length")}, nil},
	{"CL-TE/differing CL", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 35\r\n\r\n" + smuggled,
		[]string{refused(400, "conflicting Content-Length")}, nil},
	{"CL-TE/CL with plus", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: +35\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Content-Length")}, nil},
	{"CL-TE/CL negative", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Content-Length")}, nil},
	{"CL-TE/CL hex", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0x23\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Content-Length")}, nil},
	{"CL-TE/CL list", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 35, 35\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Content-Length")}, nil},
	{"CL-TE/CL overflow", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551651\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Content-Length")}, nil},
	{"CL-TE/CL of 10 GB", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10000000000\r\n\r\n" + smuggled,
		[]string{refused(413, "request body too large")}, nil},
	{"CL-TE/TE gzip, chunked", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(501, "unsupported transfer coding")}, nil},
	{"CL-TE/TE chunked, identity", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(501, "unsupported transfer coding")}, nil},
	{"CL-TE/TE xchunked", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(501, "unsupported transfer coding")}, nil},
	{"CL-TE/TE chunked twice", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Transfer-Encoding")}, nil},
	{"CL-TE/TE quoted", "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid Transfer-Encoding")}, nil},
	{"CL-TE/TE in HTTP/1.0", "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "Transfer-Encoding in HTTP/1.0 request")}, nil},

	// Chunk-size tricks (CVE-2022-24761).
	{"chunks/size with plus", chunked + "+5\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk size")}, nil},
	{"chunks/size with minus", chunked + "-5\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk size")}, nil},
	{"chunks/size with 0x", chunked + "0x5\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk extension")}, nil},
	{"chunks/size with leading space", chunked + " 5\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk size")}, nil},
	{"chunks/size that wraps 64 bits", chunked + "10000000000000005\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk size")}, nil},
	{"chunks/size over body limit", chunked + "7fffffffffffffff\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(413, "request body too large")}, nil},
	{"chunks/empty size", chunked + "\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk size")}, nil},
	{"chunks/bad extension", chunked + "5;a=b@c\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid chunk extension")}, nil},
	{"chunks/extension with bare LF", chunked + "5;a\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},
	{"chunks/missing CRLF after data", chunked + "5\r\nhello" + smuggled,
		[]string{refused(400, "chunk data not followed by CRLF")}, nil},
	{"chunks/data longer than size", chunked + "3\r\nhello\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "chunk data not followed by CRLF")}, nil},

	// Trailers.
	{"trailers/Content-Length", chunked + "0\r\nContent-Length: 35\r\n\r\n" + smuggled,
		[]string{refused(400, "forbidden trailer field")}, nil},
	{"trailers/Transfer-Encoding", chunked + "0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled,
		[]string{refused(400, "forbidden trailer field")}, nil},
	{"trailers/Host", chunked + "0\r\nHost: evil\r\n\r\n" + smuggled,
		[]string{refused(400, "forbidden trailer field")}, nil},
	{"trailers/obs-fold", chunked + "0\r\nX: a\r\n b\r\n\r\n" + smuggled,
		[]string{refused(400, "obsolete line folding")}, nil},
	{"trailers/bare LF", chunked + "0\r\nX: a\n\r\n" + smuggled,
		[]string{refused(400, "line not terminated by CRLF")}, nil},

	// Request line.
	{"line/invalid method", "GE(T /a HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid method")}, nil},
	{"line/two spaces", "GET  /a HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/space in target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "malformed HTTP version")}, nil},
	{"line/fragment in target", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/raw UTF-8 in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/bad percent-encoding", "GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/absolute form net/url refuses", "GET http://[::1/ HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/HTTP/0.9", "GET /a\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/lower-case version", "GET /a http/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "malformed HTTP version")}, nil},
	{"line/HTTP/2.0", "GET /a HTTP/2.0\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(505, "HTTP version not supported")}, nil},
	// The HTTP/2 preface reaches the handler, as in net/http, for an h2c
	// handler to hijack; this one does not, so the connection closes
	// after its answer, and what follows the preface is never parsed.
	{"line/HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + smuggled,
		[]string{okClose("*")}, []string{"*"}},
	{"line/HTTP/2 preface with a field", "PRI * HTTP/2.0\r\nHost: h\r\n\r\nSM\r\n\r\n" + smuggled,
		[]string{refused(400, "HTTP/2 preface with header fields")}, nil},
	{"line/CONNECT without a port", "CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(400, "invalid request-target")}, nil},
	{"line/CONNECT with content", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\nContent-Length: 35\r\n\r\n" + smuggled,
		[]string{refused(400, "CONNECT with content")}, nil},
	// A CONNECT the handler accepts without taking the tunnel (Hijack): the
	// client, and a proxy in front, now treat what follows as the tunnel's,
	// so it is never read as HTTP. The 2xx carries no framing (RFC 9110
	// §9.3.6); its body ends with the connection.
	{"line/CONNECT accepted, not tunnelled", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + smuggled,
		[]string{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: *\r\nServer: carhop\r\n\r\nserved \n"},
		[]string{""}},
	{"line/unknown expectation", "POST /a HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\nContent-Length: 35\r\n\r\n" + smuggled,
		[]string{refused(417, "unsupported expectation")}, nil},

	// Pipelining after an error (CVE-2024-49768): responses already owed go
	// out in order, then the refusal, then nothing.
	{"pipelining/bad after good ones", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: h\r\nX: a\x00\r\n\r\n" + smuggled,
		[]string{ok("/a"), ok("/b"), refused(400, "invalid header field value")}, []string{"/a", "/b"}},
	{"pipelining/bad while a handler runs", "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n" +
		"POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" + smuggled,
		[]string{ok("/slow"), refused(400, "conflicting Content-Length")}, []string{"/slow"}},
	{"pipelining/bad chunk after a good chunked request", chunked + "1\r\nx\r\n0\r\n\r\n" + chunked + "1\r\nxy\r\n0\r\n\r\n" + smuggled,
		[]string{ok("/a"), refused(400, "chunk data not followed by CRLF")}, []string{"/a"}},
	{"pipelining/nothing after Connection: close", "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + smuggled,
		[]string{okClose("/a")}, []string{"/a"}},
	{"pipelining/nothing after HTTP/1.0 without keep-alive", "GET /a HTTP/1.0\r\n\r\n" + smuggled,
		[]string{strings.Replace(okClose("/a"), "HTTP/1.1", "HTTP/1.0", 1)}, []string{"/a"}},
}

// limitCases run on a server with small limits (limitsForTest), each
// limit once just over and once exactly at it.
var limitCases = []smuggleCase{
	{"limits/request line over", "GET /" + strings.Repeat("a", 60) + " HTTP/1.1\r\nHost: h\r\n\r\n" + smuggled,
		[]string{refused(414, "request line too long")}, nil},
	{"limits/request line over, no CRLF yet", "GET /" + strings.Repeat("a", 100),
		[]string{refused(414, "request line too long")}, nil},
	{"limits/request line at limit", "GET /" + strings.Repeat("a", 64-len("GET / HTTP/1.1")) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		[]string{okClose("/" + strings.Repeat("a", 64-len("GET / HTTP/1.1")))}, []string{"/" + strings.Repeat("a", 64-len("GET / HTTP/1.1"))}},
	{"limits/head over", "GET /a HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 256) + "\r\n\r\n" + smuggled,
		[]string{refused(431, "request header section too large")}, nil},
	{"limits/too many fields", "GET /a HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", 4) + "\r\n" + smuggled,
		[]string{refused(431, "too many header fields")}, nil},
	{"limits/fields at limit", "GET /a HTTP/1.1\r\nHost: h\r\nX: y\r\nConnection: close\r\n\r\n",
		[]string{okClose("/a")}, []string{"/a"}},
	{"limits/CL over body limit", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n" + smuggled,
		[]string{refused(413, "request body too large")}, nil},
	{"limits/CL at body limit", "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\nConnection: close\r\n\r\n0123456789abcdef",
		[]string{okClose("/a")}, []string{"/a"}},
	{"limits/chunks over body limit", chunked + "8\r\n01234567\r\n9\r\n", []string{refused(413, "request body too large")}, nil},
	{"limits/chunk extension over", chunked + "1;a=" + strings.Repeat("b", 40) + "\r\nx\r\n0\r\n\r\n" + smuggled,
		[]string{refused(400, "chunk size line too long")}, nil},
	{"limits/trailers over", chunked + "0\r\nX: " + strings.Repeat("a", 40) + "\r\n\r\n" + smuggled,
		[]string{refused(431, "trailer section too large")}, nil},
	{"limits/too many trailers", chunked + "0\r\n" + strings.Repeat("X: y\r\n", 4) + "\r\n" + smuggled,
		[]string{refused(431, "trailer section too large")}, nil},
}

var limitsForTest = parser.Limits{MaxRequestLine: 64, MaxHeaderBytes: 256, MaxHeaders: 3,
	MaxBodyBytes: 16, MaxChunkExtension: 16, MaxTrailerBytes: 32}

func TestSmuggling(t *testing.T) {
	runSmuggling(t, smugglingCases)
}

func TestLimitsThroughServer(t *testing.T) {
	runSmuggling(t, limitCases, adapter.WithLimits(limitsForTest))
}

func runSmuggling(t *testing.T, cases []smuggleCase, opts ...adapter.Option) {
	h := &recorder{}
	s := start(t, h, opts...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s.addr)
			_, err := io.WriteString(c, tc.in)
			require.NoError(t, err)
			got := elideDate(readAll(t, c))
			assert.Equal(t, strings.Join(tc.want, ""), got)
			assert.Equal(t, tc.served, h.take(), "requests the handler ran")
		})
	}
	// Nothing was run late, after its connection's transcript was read.
	time.Sleep(20 * time.Millisecond)
	assert.Empty(t, h.take())
}
