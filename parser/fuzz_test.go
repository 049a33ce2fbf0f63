package parser

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fuzz targets of the parser. Their seeds live in testdata/fuzz/<Target>
// and run as ordinary tests under `go test`; .ci/fuzz runs each target for a
// bounded time. To run one by hand:
//
//	go test ./parser -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s
//
// FuzzParse checks the invariants the parser promises on any input,
// FuzzSplit that splitting the input never changes the result, and
// FuzzDifferential that the parser and net/http read the same bytes the same
// way, except where one of the rules listed below says why not.

// fuzzLimits are small, so that the fuzzer reaches every limit with short
// inputs.
var fuzzLimits = Limits{
	MaxRequestLine:    256,
	MaxHeaderBytes:    1024,
	MaxHeaders:        16,
	MaxBodyBytes:      4096,
	MaxChunkExtension: 64,
	MaxTrailerBytes:   256,
}

// tinyLimits are smaller still, so that the splits FuzzSplit chooses often
// fall right at a limit, where an incremental parser is easiest to get wrong.
var tinyLimits = Limits{
	MaxRequestLine:    24,
	MaxHeaderBytes:    96,
	MaxHeaders:        4,
	MaxBodyBytes:      32,
	MaxChunkExtension: 8,
	MaxTrailerBytes:   32,
}

// errorStatuses are the statuses an *Error may carry.
var errorStatuses = map[int]bool{400: true, 413: true, 414: true, 417: true, 431: true, 501: true, 505: true}

// FuzzParse feeds any input whole to a parser and checks, after every call,
// the invariants the package documents: n never exceeds the input,
// EventNeedMore only once all input is consumed, events in order, body
// pieces that alias the consumed input and add up to what the head
// announced, internal buffers bounded by the limits, every error an *Error
// with a known status, and errors that stick. Every request head it reports
// must also satisfy the grammar the parser claims to enforce.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, fuzzLimits, data)
		checkParse(t, tinyLimits, data)
	})
}

func checkParse(t *testing.T, lim Limits, data []byte) {
	p := New(lim)
	lim = p.Limits()
	in := data
	var (
		inRequest bool // between EventHead and EventDone
		chunked   bool
		length    int64 // ContentLength of the current request
		total     int64 // body bytes of the current request so far
	)
	for steps := 0; ; steps++ {
		if steps > 2*len(data)+8 {
			t.Fatalf("no progress after %d calls on %q", steps, data)
		}
		n, ev, err := p.Parse(in)
		if n < 0 || n > len(in) {
			t.Fatalf("Parse consumed %d of %d bytes", n, len(in))
		}
		consumed := in[:n]
		in = in[n:]
		checkBuffers(t, p, lim)
		if ev != EventError && err != nil {
			t.Fatalf("event %v came with error %v", ev, err)
		}
		switch ev {
		case EventNeedMore:
			if len(in) != 0 {
				t.Fatalf("need-more with %d bytes unconsumed", len(in))
			}
			// Nothing more arrived: still nothing to report.
			if n, ev, err := p.Parse(nil); n != 0 || ev != EventNeedMore || err != nil {
				t.Fatalf("Parse(nil) after need-more = %d, %v, %v", n, ev, err)
			}
			return
		case EventHead:
			if inRequest {
				t.Fatalf("second head before done")
			}
			r := p.Request()
			checkHead(t, r, lim)
			inRequest, chunked, length, total = true, r.Chunked, r.ContentLength, 0
		case EventBody:
			if !inRequest {
				t.Fatalf("body outside a request")
			}
			b := p.Body()
			if len(b) == 0 || len(b) > n {
				t.Fatalf("body of %d bytes from a call that consumed %d", len(b), n)
			}
			// Body bytes are the tail of what this call consumed, handed
			// back in place: no copy.
			if &b[0] != &consumed[n-len(b)] {
				t.Fatalf("body does not alias the consumed input")
			}
			total += int64(len(b))
			if total > lim.MaxBodyBytes {
				t.Fatalf("body of %d bytes passed MaxBodyBytes %d", total, lim.MaxBodyBytes)
			}
			if !chunked && total > length {
				t.Fatalf("body of %d bytes passed Content-Length %d", total, length)
			}
		case EventDone:
			if !inRequest {
				t.Fatalf("done without a head")
			}
			if !chunked && total != length {
				t.Fatalf("body of %d bytes for Content-Length %d", total, length)
			}
			checkTrailers(t, p.Request(), lim)
			inRequest = false
		case EventError:
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not an *Error", err, err)
			}
			if !errorStatuses[pe.Status] {
				t.Fatalf("error %v has an unexpected status", pe)
			}
			if !errors.Is(p.Err(), err) {
				t.Fatalf("Err() = %v after error %v", p.Err(), err)
			}
			// After an error nothing is parsed: not the rest of the input,
			// not nothing, not a perfectly good request.
			for _, more := range [][]byte{in, nil, []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")} {
				n2, ev2, err2 := p.Parse(more)
				if n2 != 0 || ev2 != EventError || !errors.Is(err2, err) {
					t.Fatalf("after error %v: Parse = %d, %v, %v", err, n2, ev2, err2)
				}
			}
			return
		default:
			t.Fatalf("unknown event %d", ev)
		}
	}
}

// checkBuffers asserts that the memory a parser holds is bounded by its
// limits: the lengths of its buffers exactly, their capacities up to the
// slack of append's growth (at most doubling, plus size-class rounding).
func checkBuffers(t *testing.T, p *Parser, lim Limits) {
	t.Helper()
	maxLine := lim.MaxChunkExtension + maxChunkSizeDigits + 2
	for _, b := range []struct {
		name     string
		len, cap int
		max      int
	}{
		{"head", len(p.head), cap(p.head), lim.MaxHeaderBytes},
		{"trail", len(p.trail), cap(p.trail), lim.MaxTrailerBytes},
		{"line", len(p.line), cap(p.line), maxLine},
		{"fields", len(p.fields), cap(p.fields), lim.MaxHeaders},
		{"tfields", len(p.tfields), cap(p.tfields), lim.MaxHeaders},
		{"Headers", len(p.req.Headers), cap(p.req.Headers), lim.MaxHeaders},
		{"Trailers", len(p.req.Trailers), cap(p.req.Trailers), lim.MaxHeaders},
	} {
		if b.len > b.max {
			t.Fatalf("%s holds %d, limit %d", b.name, b.len, b.max)
		}
		if b.cap > 2*b.max+64 {
			t.Fatalf("%s has capacity %d, limit %d", b.name, b.cap, b.max)
		}
	}
}

// checkHead asserts that a request head the parser accepted is well formed
// in every respect the parser claims to check.
func checkHead(t *testing.T, r *Request, lim Limits) {
	t.Helper()
	if len(r.Method) == 0 || !allTchar(r.Method) {
		t.Fatalf("accepted method %q", r.Method)
	}
	connect := string(r.Method) == "CONNECT"
	if connect && (!r.Upgrade || r.Chunked || r.ContentLength != 0) {
		t.Fatalf("CONNECT with Upgrade %v, Chunked %v, ContentLength %d", r.Upgrade, r.Chunked, r.ContentLength)
	}
	if r.ProtoMajor == 2 && (string(r.Method) != "PRI" || string(r.Target) != "*" || !r.Upgrade || r.KeepAlive ||
		r.ContentLength != 0 || len(r.Headers) > 0) {
		t.Fatalf("HTTP/2.0 request %q %q, Upgrade %v, KeepAlive %v, ContentLength %d, %d fields",
			r.Method, r.Target, r.Upgrade, r.KeepAlive, r.ContentLength, len(r.Headers))
	}
	tg := r.Target
	if len(tg) == 0 {
		t.Fatalf("accepted an empty target")
	}
	for i, c := range tg {
		if class[c]&cTarget == 0 {
			t.Fatalf("accepted target %q with byte %#x", tg, c)
		}
		if c == '%' && (i+2 >= len(tg) || class[tg[i+1]]&cHex == 0 || class[tg[i+2]]&cHex == 0) {
			t.Fatalf("accepted target %q with a bad percent-encoding", tg)
		}
	}
	switch r.Form {
	case OriginForm:
		if tg[0] != '/' {
			t.Fatalf("origin-form target %q", tg)
		}
	case AuthorityForm:
		// host ":" port, the port 1..65535 without a sign, no userinfo
		// or path, and a host url.Parse would take as it is.
		i := bytes.LastIndexByte(tg, ':')
		port, err := strconv.Atoi(string(tg[i+1:]))
		if !connect || i < 1 || err != nil || port < 1 || port > 65535 || tg[i+1] == '+' || tg[i+1] == '-' ||
			bytes.ContainsAny(tg, "/?@%") {
			t.Fatalf("authority-form target %q for %q", tg, r.Method)
		}
		if tg[0] == '[' && (tg[i-1] != ']' || !urlTakesIPv6(string(tg[1:i-1]))) {
			t.Fatalf("authority-form target %q: brackets without an IPv6 address", tg)
		}
	case AsteriskForm:
		preface := string(r.Method) == "PRI" && r.ProtoMajor == 2
		if string(tg) != "*" || string(r.Method) != "OPTIONS" && !preface {
			t.Fatalf("asterisk-form %q %q", r.Method, tg)
		}
	case AbsoluteForm:
		i := bytes.IndexByte(tg, ':')
		if i < 1 || i == len(tg)-1 || lower(tg[0])-'a' > 25 {
			t.Fatalf("absolute-form target %q", tg)
		}
		for _, c := range tg[1:i] {
			if class[c]&cSchemeTail == 0 {
				t.Fatalf("absolute-form target %q", tg)
			}
		}
	default:
		t.Fatalf("unknown target form %d", r.Form)
	}
	if (r.ProtoMajor != 1 || r.ProtoMinor > 1) && (r.ProtoMajor != 2 || r.ProtoMinor != 0) {
		t.Fatalf("accepted HTTP/%d.%d", r.ProtoMajor, r.ProtoMinor)
	}
	http11 := r.ProtoMinor == 1
	if len(r.Headers) > lim.MaxHeaders {
		t.Fatalf("%d header fields, limit %d", len(r.Headers), lim.MaxHeaders)
	}
	checkFields(t, r.Headers)
	var hosts, lengths, codings int
	for _, h := range r.Headers {
		switch {
		case equalFold(h.Name, "host"):
			hosts++
			if !bytes.Equal(h.Value, r.Host) {
				t.Fatalf("Host %q but field %q", r.Host, h.Value)
			}
			for _, c := range h.Value {
				if class[c]&cHost == 0 {
					t.Fatalf("accepted Host %q", h.Value)
				}
			}
		case equalFold(h.Name, "content-length"):
			lengths++
			if n, ok := ParseContentLength(h.Value); !ok || n != r.ContentLength {
				t.Fatalf("Content-Length %q but ContentLength %d", h.Value, r.ContentLength)
			}
		case equalFold(h.Name, "transfer-encoding"):
			codings++
		case equalFold(h.Name, "expect"):
			if http11 && !equalFold(h.Value, "100-continue") {
				t.Fatalf("accepted Expect %q", h.Value)
			}
		}
	}
	if hosts > 1 || hosts == 1 != r.HasHost || http11 && !r.HasHost && r.Form != AuthorityForm {
		t.Fatalf("%d Host fields, HasHost %v, HTTP/1.%d", hosts, r.HasHost, r.ProtoMinor)
	}
	if r.Chunked {
		if r.ContentLength != -1 || lengths != 0 || codings == 0 || !http11 {
			t.Fatalf("chunked with ContentLength %d, %d Content-Length and %d Transfer-Encoding fields, HTTP/1.%d",
				r.ContentLength, lengths, codings, r.ProtoMinor)
		}
	} else if codings != 0 || r.ContentLength < 0 || r.ContentLength > lim.MaxBodyBytes || lengths == 0 && r.ContentLength != 0 {
		t.Fatalf("ContentLength %d with %d Content-Length and %d Transfer-Encoding fields", r.ContentLength, lengths, codings)
	}
	if r.ExpectContinue && !http11 {
		t.Fatalf("ExpectContinue on HTTP/1.0")
	}
}

// checkTrailers asserts that the trailer fields of a finished request are
// well formed, within the limits, and none that could change framing or
// routing.
func checkTrailers(t *testing.T, r *Request, lim Limits) {
	t.Helper()
	if !r.Chunked && len(r.Trailers) != 0 {
		t.Fatalf("trailers without a chunked body")
	}
	if len(r.Trailers) > lim.MaxHeaders {
		t.Fatalf("%d trailer fields, limit %d", len(r.Trailers), lim.MaxHeaders)
	}
	checkFields(t, r.Trailers)
	for _, h := range r.Trailers {
		for _, bad := range []string{"content-length", "transfer-encoding", "host", "trailer"} {
			if equalFold(h.Name, bad) {
				t.Fatalf("accepted trailer field %q", h.Name)
			}
		}
	}
}

func checkFields(t *testing.T, hs []Header) {
	t.Helper()
	for _, h := range hs {
		if len(h.Name) == 0 || !allTchar(h.Name) {
			t.Fatalf("accepted field name %q", h.Name)
		}
		v := h.Value
		if len(v) > 0 && (v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
			t.Fatalf("field value %q keeps surrounding whitespace", v)
		}
		for _, c := range v {
			if class[c]&cFieldVal == 0 {
				t.Fatalf("accepted field value %q", v)
			}
		}
	}
}

func allTchar(b []byte) bool {
	for _, c := range b {
		if !isTchar(c) {
			return false
		}
	}
	return true
}

// FuzzSplit checks the promise that splitting the input at any point gives
// exactly the same result as feeding it whole: at up to three points the
// fuzzer picks, and, for short inputs, one byte at a time. It does so under
// two sets of limits, the tiny one so that splits land on limit boundaries.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, c1, c2, c3 uint16) {
		s := string(data)
		cuts := []int{int(c1) % (len(s) + 1), int(c2) % (len(s) + 1), int(c3) % (len(s) + 1)}
		sort.Ints(cuts)
		for _, lim := range []Limits{fuzzLimits, tinyLimits} {
			whole := feed(lim, s)
			require.Equal(t, whole, feed(lim, s, cuts...), "input %q split at %v, limits %+v", s, cuts, lim)
			if len(s) <= 512 {
				bytewise := make([]int, 0, len(s))
				for i := 1; i < len(s); i++ {
					bytewise = append(bytewise, i)
				}
				require.Equal(t, whole, feed(lim, s, bytewise...), "input %q fed one byte at a time, limits %+v", s, lim)
			}
		}
	})
}

// FuzzDifferential compares the parser with net/http's http.ReadRequest on
// the same bytes, first request only, with the default limits.
//
// Where both accept, they must agree on the method, the request-target, the
// version, the header fields (after net/http's documented rewrites), Host,
// Content-Length, chunking, persistence, the body and the trailers. Where
// only one accepts, the disagreement must be explained by one of the rules
// below: weStricter lists what we deliberately reject and net/http accepts,
// netStricter what net/http rejects and we accept. A disagreement no rule
// explains fails the target.
//
// When the input ends before our parser has decided on the first request,
// net/http (which treats end of input as end of stream) has usually failed
// with an EOF error, or on a truncated line; only its acceptance counts then,
// and it must be explained like any other disagreement.
func FuzzDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		// net/http reads through a 4 KiB bufio.Reader, and some of its
		// checks (the trailer look-ahead, chunk-size line length) depend on
		// what fits in that buffer rather than on the message.
		if len(data) > 4000 {
			t.Skip("longer than net/http's read buffer")
		}
		c := newDiffCase(data)
		switch {
		case c.ours != nil && c.netErr == nil:
			compareAccepted(t, c)
		case c.ours != nil:
			if name := c.explain(netStricter); name == "" {
				t.Fatalf("we accept, net/http rejects (%v), no rule explains it; input:\n%q", c.netErr, data)
			}
		case c.netErr == nil:
			if name := c.explain(weStricter); name == "" {
				t.Fatalf("net/http accepts, we %s, no rule explains it; input:\n%q", c.ourOutcome(), data)
			}
		}
	})
}

// diffCase is one input as both parsers read it.
type diffCase struct {
	data []byte

	ours   *parsed // our first request, when we accepted it
	ourErr *Error  // why we rejected the first request; nil if we did not

	net     *http.Request // net/http's request, when it accepted it
	netBody []byte
	netErr  error // why net/http rejected: reading the head or the body
}

func newDiffCase(data []byte) *diffCase {
	c := &diffCase{data: data}
	tr := feed(Limits{}, string(data))
	switch {
	case len(tr.Requests) > 0:
		c.ours = &tr.Requests[0]
	case tr.Err != nil:
		errors.As(tr.Err, &c.ourErr)
	}
	c.net, c.netErr = http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
	if c.netErr == nil {
		c.netBody, c.netErr = io.ReadAll(c.net.Body)
	}
	return c
}

func (c *diffCase) ourOutcome() string {
	if c.ourErr != nil {
		return "reject (" + c.ourErr.Error() + ")"
	}
	return "need more input"
}

// explain returns the name of the first rule that explains the
// disagreement, or "".
func (c *diffCase) explain(rules []diffRule) string {
	for _, r := range rules {
		if r.applies(c) {
			return r.name
		}
	}
	return ""
}

func (c *diffCase) netErrHas(s string) bool {
	return c.netErr != nil && strings.Contains(c.netErr.Error(), s)
}

type diffRule struct {
	name    string
	applies func(*diffCase) bool
}

// weStricter are the inputs we reject on purpose although net/http's
// ReadRequest accepts them. Each rule names the error we answer with and
// checks that the input really has the feature the rule is about.
//
// Checked by experiment and needing no rule, because both agree: lower-case
// and other token methods (both accept), identical duplicate Content-Length
// (both accept; net/http merges the fields into one), "+10" or hex
// Content-Length, differing duplicates, "Transfer-Encoding: gzip, chunked",
// a VT before chunked, NUL or a bare CR anywhere, duplicate Host, "0x1"
// chunk sizes, chunk sizes that overflow, chunk data not followed by CRLF,
// and a bare LF in chunk framing (all rejected by both).
var weStricter = []diffRule{
	{"bare LF line ending", ruleBareLF},
	{"obs-fold", ruleObsFold},
	{"whitespace before the colon", ruleSpaceBeforeColon},
	{"Transfer-Encoding with Content-Length", ruleTEWithCL},
	{"Transfer-Encoding in HTTP/1.0", ruleTEInHTTP10},
	{"CONNECT target", ruleConnectTarget},
	{"CONNECT with content", ruleConnectContent},
	{"HTTP version other than 1.0 and 1.1", ruleVersion},
	{"HTTP/2 preface with fields", rulePreface},
	{"missing Host", ruleMissingHost},
	{"invalid Host", ruleInvalidHost},
	{"unsupported Expect", ruleExpect},
	{"'#' in request-target", ruleTargetHash},
	{"byte >= 0x80 in request-target", ruleTargetHighByte},
	{"bad percent-encoding in request-target", ruleTargetPercent},
	{"asterisk-form for a method other than OPTIONS", ruleTargetAsterisk},
	{"absolute-form without an authority", ruleTargetNoAuthority},
	{"malformed chunk extension", ruleChunkExt},
	{"forbidden trailer field", ruleTrailerField},
	{"limits", ruleLimits},
}

// ruleBareLF: a line of the head or the trailer section ends in LF alone.
// net/http's textproto reader accepts a bare LF as a line end; we require
// CRLF everywhere (RFC 9112 §2.2 allows either; a bare-LF-tolerant proxy in
// front of a CRLF-strict one is a smuggling vector, Waitress CVE-2019-16785).
func ruleBareLF(c *diffCase) bool {
	return c.ourErr == ErrBareLF && hasBareLF(c.data)
}

// ruleObsFold: a field line that starts with SP or HTAB. net/http unfolds it
// into the previous value; we answer 400 (RFC 9112 §5.2 lets a server reject
// obs-fold, and a field hidden in a continuation is invisible to a peer that
// does not unfold).
func ruleObsFold(c *diffCase) bool {
	return c.ourErr == ErrObsFold && (bytes.Contains(c.data, []byte("\n ")) || bytes.Contains(c.data, []byte("\n\t")))
}

// ruleSpaceBeforeColon: "Name : value". net/http keeps the field under the
// uncanonicalised name "Name " (so "Host : a" sets no Host); RFC 9112 §5.1
// says a server MUST reject it with 400. The same goes for a trailer field.
func ruleSpaceBeforeColon(c *diffCase) bool {
	for _, h := range []http.Header{c.net.Header, c.net.Trailer} {
		for k := range h {
			if strings.ContainsAny(k, " ") {
				return c.ourErr == ErrFieldName
			}
		}
	}
	return false
}

// ruleTEWithCL: both Transfer-Encoding and Content-Length. net/http drops
// the Content-Length and reads chunks; RFC 9112 §6.1 lets a server reject the
// message instead, which we do, not to guess which framing an upstream used.
func ruleTEWithCL(c *diffCase) bool {
	return c.ourErr == ErrChunkedWithLength && len(c.net.TransferEncoding) > 0 && hasField(c.data, "Content-Length")
}

// ruleTEInHTTP10: Transfer-Encoding in an HTTP/1.0 request, well-formed or
// not. net/http ignores the field (Go issue 12785) and frames by
// Content-Length; we reject it, since an HTTP/1.0 peer may frame it either
// way (RFC 9112 §6.1), and we vet its value before we know it is moot.
func ruleTEInHTTP10(c *diffCase) bool {
	return (c.ourErr == ErrTEInHTTP10 || c.ourErr == ErrTransferEncoding) &&
		c.net.ProtoMinor == 0 && hasField(c.data, "Transfer-Encoding")
}

// ruleConnectTarget: a CONNECT target that is not host ":" port with a
// port from 1 to 65535, nor an origin-form path. net/http reads any other
// target as an authority (even an empty one, or a port of 99999); a
// tunnel to nowhere is refused before a handler sees it.
func ruleConnectTarget(c *diffCase) bool {
	return c.ourErr == ErrTarget && c.net.Method == http.MethodConnect
}

// ruleConnectContent: a CONNECT with Content-Length above zero or
// Transfer-Encoding. net/http reads the body; RFC 9110 §9.3.6 says a
// CONNECT has none, and what follows its head is the tunnel's, so a framed
// body is where a proxy in front and this server would disagree. In an
// HTTP/1.0 CONNECT net/http drops the Transfer-Encoding field unread
// (ruleTEInHTTP10), so the field is looked for in the input.
func ruleConnectContent(c *diffCase) bool {
	return c.ourErr == ErrConnectContent && c.net.Method == http.MethodConnect &&
		(c.net.ContentLength > 0 || len(c.net.TransferEncoding) > 0 || hasField(c.data, "Transfer-Encoding"))
}

// ruleVersion: HTTP/0.x, HTTP/1.2 and up, HTTP/2.0. net/http's
// ParseHTTPVersion accepts any "HTTP/d.d"; we answer 505 to all but 1.0 and
// 1.1, and the HTTP/2 preface's "PRI * HTTP/2.0".
func ruleVersion(c *diffCase) bool {
	return c.ourErr == ErrHTTPVersion && (c.net.ProtoMajor != 1 || c.net.ProtoMinor > 1) &&
		(c.net.ProtoMajor != 2 || c.net.ProtoMinor != 0 || c.net.Method != "PRI" || c.net.RequestURI != "*")
}

// rulePreface: "PRI * HTTP/2.0" followed by header fields. net/http takes
// it (its h2c handler then passes it on as an ordinary request); it is no
// HTTP/2 preface, whose request line is followed by an empty line, so we
// refuse it rather than fence a connection for a client that speaks
// neither protocol.
func rulePreface(c *diffCase) bool {
	return c.ourErr == ErrPreface && c.net.Method == "PRI" && c.net.ProtoMajor == 2
}

// ruleMissingHost: an HTTP/1.1 request without Host. ReadRequest leaves that
// to net/http's server (which also answers 400); RFC 9112 §3.2 requires it.
func ruleMissingHost(c *diffCase) bool {
	return c.ourErr == ErrMissingHost && c.net.ProtoMinor == 1 && !hasField(c.data, "Host")
}

// ruleInvalidHost: a Host value with bytes outside reg-name, IP-literal and
// port. ReadRequest does not look at it (net/http's server checks it with
// httpguts.ValidHostHeader).
func ruleInvalidHost(c *diffCase) bool {
	for _, f := range headFields(c.data) {
		if strings.EqualFold(f[0], "Host") {
			for _, b := range []byte(f[1]) {
				if class[b]&cHost == 0 {
					return c.ourErr == ErrInvalidHost
				}
			}
		}
	}
	return false
}

// ruleExpect: an HTTP/1.1 expectation other than 100-continue. ReadRequest
// ignores Expect (net/http's server answers 417 too); RFC 9110 §10.1.1 says
// 417.
func ruleExpect(c *diffCase) bool {
	for _, v := range c.net.Header["Expect"] {
		if !strings.EqualFold(v, "100-continue") {
			return c.ourErr == ErrExpectation
		}
	}
	return false
}

// ruleTargetHash: '#' in the request-target. A fragment is never sent (RFC
// 9112 §3.2); net/http keeps it as part of the path.
func ruleTargetHash(c *diffCase) bool {
	return c.ourErr == ErrTarget && strings.Contains(c.net.RequestURI, "#")
}

// ruleTargetHighByte: a byte >= 0x80 in the request-target. Not a URI
// character (RFC 3986 §2); net/http accepts it in the path.
func ruleTargetHighByte(c *diffCase) bool {
	for _, b := range []byte(c.net.RequestURI) {
		if b >= 0x80 {
			return c.ourErr == ErrTarget
		}
	}
	return false
}

// ruleTargetPercent: a '%' not followed by two hex digits. net/http
// validates percent-encoding in the path only; we do in the whole target,
// query included.
func ruleTargetPercent(c *diffCase) bool {
	u := c.net.RequestURI
	for i := 0; i < len(u); i++ {
		if u[i] == '%' && (i+2 >= len(u) || class[u[i+1]]&cHex == 0 || class[u[i+2]]&cHex == 0) {
			return c.ourErr == ErrTarget
		}
	}
	return false
}

// ruleTargetAsterisk: "*" as the target of a method other than OPTIONS.
// RFC 9112 §3.2.4 allows the asterisk form for OPTIONS only.
func ruleTargetAsterisk(c *diffCase) bool {
	return c.ourErr == ErrTarget && c.net.RequestURI == "*" && c.net.Method != http.MethodOptions
}

// ruleTargetNoAuthority: an absolute-form target without "//" and an
// authority after its scheme ("urn:x", "localhost:80", "a:"). net/http's
// url.ParseRequestURI takes it as an opaque URL; an origin server has no use
// for one, and "host:port" would pass as one (the authority form belongs to
// CONNECT only, RFC 9112 §3.2.3).
func ruleTargetNoAuthority(c *diffCase) bool {
	u, scheme := c.net.RequestURI, c.net.URL.Scheme
	return c.ourErr == ErrTarget && scheme != "" &&
		(len(u) <= len(scheme)+3 || u[len(scheme):len(scheme)+3] != "://")
}

// ruleChunkExt: a chunk-size line with something other than well-formed
// chunk extensions after the size, whitespace alone included. net/http cuts
// the line at the first ';' and ignores the rest; we hold extensions to RFC
// 9112 §7.1.1, or a peer that reads them differently finds a different body.
func ruleChunkExt(c *diffCase) bool {
	return c.ourErr == ErrChunkExt && len(c.net.TransferEncoding) > 0
}

// ruleTrailerField: a trailer field named Content-Length,
// Transfer-Encoding, Host or Trailer. net/http accepts any name in the
// trailer section; those would change framing or routing if merged with the
// header section (RFC 9110 §6.5.1), so we refuse them.
func ruleTrailerField(c *diffCase) bool {
	if c.ourErr != ErrTrailerField {
		return false
	}
	for k := range c.net.Trailer {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Host", "Trailer":
			return true
		}
	}
	return false
}

// ruleLimits: more header fields, or more trailer fields, than
// MaxHeaders (100 by default). net/http's ReadRequest counts neither; its
// server bounds only the bytes of the head. (Our other limits are out of
// reach of the 4000 bytes this target compares, or, for the body, make
// net/http fail too, at the end of the input.)
func ruleLimits(c *diffCase) bool {
	switch c.ourErr {
	case ErrTooManyFields:
		return len(headFields(c.data)) > DefaultMaxHeaders
	case ErrTrailerTooLarge:
		n := 0
		for _, v := range c.net.Trailer {
			n += len(v)
		}
		return n > DefaultMaxHeaders
	}
	return false
}

// netStricter are the inputs net/http rejects although we accept them. Each
// rule checks net/http's error and the feature of our request it is about.
var netStricter = []diffRule{
	{"leading empty lines", ruleLeadingEmptyLines},
	{"Content-Length duplicates spelled differently", ruleLengthSpelling},
	{"whitespace before ';' in a chunk-size line", ruleChunkBWS},
	{"chunk-size with more than 16 hex digits", ruleChunkDigits},
	{"Trailer field naming a framing field", ruleTrailerDeclaration},
	{"absolute-form authority url.ParseRequestURI rejects", ruleURLAuthority},
}

// ruleLeadingEmptyLines: CRLFs before the request line. RFC 9112 §2.2 says
// a server SHOULD ignore at least one; we ignore them within the
// request-line budget, net/http rejects them.
func ruleLeadingEmptyLines(c *diffCase) bool {
	return c.netErrHas("malformed HTTP request") && bytes.HasPrefix(c.data, []byte("\r\n"))
}

// ruleLengthSpelling: several Content-Length fields with the same decimal
// value spelled differently ("5" and "05"). RFC 9110 §8.6 lets a recipient
// accept duplicates of the same value; net/http compares the strings.
func ruleLengthSpelling(c *diffCase) bool {
	var spellings []string
	for _, h := range c.ours.Headers {
		if name, v, _ := strings.Cut(h, ": "); strings.EqualFold(name, "content-length") {
			spellings = append(spellings, v)
		}
	}
	return c.netErrHas("multiple Content-Length headers") && len(spellings) > 1
}

// ruleChunkBWS: "5 ;ext". RFC 9112 §7.1.1 allows BWS before the ';' of a
// chunk extension; net/http trims the line at ';' and then rejects the
// whitespace as part of the size.
func ruleChunkBWS(c *diffCase) bool {
	if !c.netErrHas("invalid byte in chunk length") {
		return false
	}
	for _, l := range chunkSizeLines(c.data) {
		i := 0
		for i < len(l) && class[l[i]]&cHex != 0 {
			i++
		}
		if i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			return true
		}
	}
	return false
}

// ruleChunkDigits: a chunk size written with leading zeros to more than 16
// digits. Its value is what counts (RFC 9112 §7.1); net/http refuses any
// size longer than 16 digits.
func ruleChunkDigits(c *diffCase) bool {
	if !c.netErrHas("http chunk length too large") {
		return false
	}
	for _, l := range chunkSizeLines(c.data) {
		i := 0
		for i < len(l) && class[l[i]]&cHex != 0 {
			i++
		}
		if i > 16 {
			return true
		}
	}
	return false
}

// ruleTrailerDeclaration: a Trailer header field announcing
// Transfer-Encoding, Content-Length or Trailer in a chunked request.
// net/http rejects the announcement; we do not interpret Trailer, and reject
// such fields when they actually arrive in the trailer section.
func ruleTrailerDeclaration(c *diffCase) bool {
	if !c.netErrHas("bad trailer key") || !c.ours.Chunked {
		return false
	}
	for _, h := range c.ours.Headers {
		if name, _, _ := strings.Cut(h, ": "); strings.EqualFold(name, "trailer") {
			return true
		}
	}
	return false
}

// ruleURLAuthority: an absolute-form target whose authority url.Parse
// rejects (a bad port, an unclosed IP literal, a byte not allowed in a host).
// We check the scheme and the target's bytes only, and leave the authority to
// the adapter, which looks at Host; net/http parses the whole URL.
func ruleURLAuthority(c *diffCase) bool {
	var ue *url.Error
	return errors.As(c.netErr, &ue) && c.ours.Form == AbsoluteForm
}

// chunkSizeLines returns the chunk-size lines (without CRLF) of the first
// request in data, which our parser has accepted with a chunked body: every
// line of it ends in CRLF and every chunk is complete.
func chunkSizeLines(data []byte) [][]byte {
	for bytes.HasPrefix(data, []byte("\r\n")) {
		data = data[2:]
	}
	i := bytes.Index(data, []byte("\r\n\r\n"))
	if i < 0 {
		return nil
	}
	data = data[i+4:]
	var lines [][]byte
	for {
		j := bytes.Index(data, []byte("\r\n"))
		if j < 0 {
			return lines
		}
		line := data[:j]
		lines = append(lines, line)
		var size int
		for _, b := range line {
			if class[b]&cHex == 0 || size > len(data) {
				break
			}
			size = size<<4 | int(unhex(b))
		}
		if size == 0 || j+2+size+2 > len(data) {
			return lines
		}
		data = data[j+2+size+2:]
	}
}

// compareAccepted checks that both parsers read the same request.
func compareAccepted(t *testing.T, c *diffCase) {
	ours, nr := c.ours, c.net
	msg := fmt.Sprintf("input:\n%q", c.data)
	require.Equal(t, ours.Method, nr.Method, msg)
	require.Equal(t, ours.Target, nr.RequestURI, msg)
	require.Equal(t, ours.Proto, nr.Proto, msg)
	// The HTTP/2 preface: net/http sets Close on it, so that a handler
	// that does not hijack ends the connection, and ContentLength -1,
	// "neither chunked, nor declared"; the parser reports the framing (no
	// body) and leaves -1 to the adapter.
	preface := nr.Method == "PRI" && nr.RequestURI == "*" && nr.ProtoMajor == 2 && nr.ProtoMinor == 0
	if preface {
		require.True(t, nr.Close, msg)
		require.Equal(t, int64(-1), nr.ContentLength, msg)
		nr.ContentLength = 0
	} else {
		require.Equal(t, 1, nr.ProtoMajor, msg)
	}
	require.Equal(t, ours.Proto == "HTTP/1.1", nr.ProtoMinor == 1, msg)
	// An absolute-form target's authority overrides Host in net/http (RFC
	// 9112 §3.2.2); we report the Host field and leave that to the adapter.
	if nr.URL.Host == "" {
		require.Equal(t, ours.Host, nr.Host, msg)
	}
	require.Equal(t, netHeaderOf(ours), map[string][]string(nr.Header), msg)
	require.Equal(t, ours.ContentLength, nr.ContentLength, msg)
	require.Equal(t, ours.Chunked, len(nr.TransferEncoding) == 1 && nr.TransferEncoding[0] == "chunked", msg)
	require.Equal(t, ours.KeepAlive, !nr.Close, msg)
	// net/http's server waits for 100-continue on any HTTP/1.1 Expect; we
	// accept no other expectation, so the two must coincide.
	require.Equal(t, ours.Continue, nr.ProtoMinor == 1 && len(nr.Header["Expect"]) > 0, msg)
	require.Equal(t, ours.Body, string(c.netBody), msg)
	// net/http pre-fills Trailer with the names the Trailer field
	// announces, nil until such a field arrives.
	gotTrailers := map[string][]string{}
	for k, v := range nr.Trailer {
		if v != nil {
			gotTrailers[k] = v
		}
	}
	require.Equal(t, groupFields(ours.Trailers), gotTrailers, msg)
}

// netHeaderOf returns the Header net/http should produce for our request:
// the fields grouped by canonical name, in order, then net/http's rewrites.
func netHeaderOf(r *parsed) map[string][]string {
	h := groupFields(r.Headers)
	delete(h, "Host") // into Request.Host
	if r.Chunked {
		delete(h, "Transfer-Encoding") // into Request.TransferEncoding
		delete(h, "Trailer")           // into Request.Trailer
	}
	if cl := h["Content-Length"]; len(cl) > 1 {
		h["Content-Length"] = cl[:1] // identical duplicates merged
	}
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"} // HTTP/1.0 compatibility
		}
	}
	return h
}

// groupFields turns "Name: value" lines into a map keyed by canonical name.
func groupFields(fs []string) map[string][]string {
	h := map[string][]string{}
	for _, f := range fs {
		name, value, _ := strings.Cut(f, ": ")
		k := textproto.CanonicalMIMEHeaderKey(name)
		h[k] = append(h[k], value)
	}
	return h
}

func hasBareLF(b []byte) bool {
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			return true
		}
	}
	return false
}

// headFields returns the name and value of each field line in the head of
// the first request in data, read loosely (any line end, no validation), for
// the rules to check what the input contains.
func headFields(data []byte) [][2]string {
	var fs [][2]string
	lines := strings.Split(string(data), "\n")
	for len(lines) > 0 && strings.TrimSuffix(lines[0], "\r") == "" {
		lines = lines[1:]
	}
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if l == "" || i == len(lines)-1 {
			break
		}
		if name, value, ok := strings.Cut(l, ":"); ok && i > 0 {
			fs = append(fs, [2]string{name, strings.Trim(value, " \t")})
		}
	}
	return fs
}

// hasField reports whether the head of the first request in data has a
// field line named name, compared without regard to case.
func hasField(data []byte, name string) bool {
	for _, f := range headFields(data) {
		if strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}
