package parser

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each test below replays the malformed input of one of Waitress's
// request-parsing advisories and checks that carhop refuses it and that no
// second request hides inside the first. The advisories are summarised in
// docs/parser.md.

// smuggled is the request an attacker hopes a server will see.
const smuggled = "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n"

// assertRefused checks that in is refused with want, whole and split at
// every point, and that no request completes at all.
func assertRefused(t *testing.T, in string, want *Error) {
	t.Helper()
	tr := feed(Limits{}, in)
	require.ErrorIs(t, tr.Err, want)
	assert.Empty(t, tr.Requests, "a request was served")
	for i := 1; i < len(in); i++ {
		require.Equal(t, tr, feed(Limits{}, in, i), "split at %d", i)
	}
}

// CVE-2019-16785: LF alone accepted as a line end, so "X: x\nContent-Length: 0"
// was one field to a proxy and two to Waitress.
func TestCVE_2019_16785_BareLF(t *testing.T) {
	tests := map[string]string{
		"LF inside the head":          "POST / HTTP/1.1\r\nHost: h\r\nX: x\nContent-Length: 33\r\n\r\n" + smuggled,
		"LF-only head":                "GET / HTTP/1.1\nHost: h\n\n" + smuggled,
		"LF ends the head":            "GET / HTTP/1.1\r\nHost: h\r\n\n" + smuggled,
		"LF ends a chunk-size line":   "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n21\n" + smuggled + "\r\n0\r\n\r\n",
		"LF after chunk data":         "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n" + smuggled,
		"LF ends the trailer section": "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n" + smuggled,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			tr := feed(Limits{}, in)
			require.Error(t, tr.Err)
			assert.Empty(t, tr.Requests)
		})
	}
	t.Run("CR alone", func(t *testing.T) {
		assertRefused(t, "GET / HTTP/1.1\r\nHost: h\r\nX: x\rContent-Length: 33\r\n\r\n"+smuggled, ErrBareCR)
	})
}

// CVE-2019-16786: "Transfer-Encoding: gzip, chunked" was not understood, so
// Waitress fell back to Content-Length while a proxy used chunked.
func TestCVE_2019_16786_UnsupportedTransferCoding(t *testing.T) {
	for _, te := range []string{"gzip, chunked", "gzip", "chunked, identity", "deflate,chunked"} {
		t.Run(te, func(t *testing.T) {
			assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "+te+"\r\n\r\n0\r\n\r\n"+smuggled, ErrUnsupportedCoding)
			var perr *Error
			require.ErrorAs(t, feed(Limits{}, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "+te+"\r\n\r\n").Err, &perr)
			assert.Equal(t, 501, perr.Status)
		})
	}
}

// CVE-2019-16789: "Transfer-Encoding: \x0bchunked" — whitespace other than
// SP and HTAB was stripped, so Waitress saw chunked where a proxy did not.
func TestCVE_2019_16789_InvalidWhitespace(t *testing.T) {
	for _, ws := range []string{"\x0b", "\x0c", "\x00", "\x85", "\xa0"} {
		in := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + ws + "chunked\r\n\r\n0\r\n\r\n" + smuggled
		tr := feed(Limits{}, in)
		require.Error(t, tr.Err, "%q", ws)
		assert.Empty(t, tr.Requests)
	}
	assertRefused(t, "GET / HTTP/1.1\r\nHost: h\r\nX: \x0bvalue\r\n\r\n", ErrFieldValue)
	assertRefused(t, "GET / HTTP/1.1\r\nHost: h\r\nX\x0b: value\r\n\r\n", ErrFieldName)
}

// CVE-2019-16792: two Content-Length fields folded into "10, 10" were read
// as 0, leaving the body to be parsed as a second request.
func TestCVE_2019_16792_MultipleContentLength(t *testing.T) {
	body := "GET /admin HTTP/1.1\r\nHost: h\r\n\r\n"
	assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 33, 33\r\n\r\n"+body, ErrContentLength)
	assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 33\r\nContent-Length: 0\r\n\r\n"+body, ErrConflictingLength)
	assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nContent-Length: 33\r\n\r\n"+body, ErrConflictingLength)
}

// CVE-2020-5236: a field value ending in a control byte made Waitress's
// regular expression backtrack for minutes. Validation here is one table
// lookup per byte; this input of 200 KiB is refused after one pass.
func TestCVE_2020_5236_NoBacktracking(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: h\r\nBad-header: " + strings.Repeat("x", 200<<10) + "\x10\r\n\r\n"
	p := New(Limits{})
	_, ev, err := p.Parse([]byte(in))
	require.ErrorIs(t, err, ErrFieldValue)
	assert.Equal(t, EventError, ev)
}

// CVE-2022-24761: "Content-Length: +10", chunk sizes "0x01" and "+01", and
// malformed chunk extensions were accepted.
func TestCVE_2022_24761_NumberFormats(t *testing.T) {
	chunked := "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	tests := []struct {
		name string
		in   string
		want *Error
	}{
		{"CL plus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +33\r\n\r\n" + smuggled, ErrContentLength},
		{"CL minus", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -0\r\n\r\n" + smuggled, ErrContentLength},
		{"chunk size 0x", chunked + "0x21\r\n" + smuggled + "\r\n0\r\n\r\n", ErrChunkExt},
		{"chunk size plus", chunked + "+21\r\n" + smuggled + "\r\n0\r\n\r\n", ErrChunkSize},
		{"chunk extension garbage", chunked + "21;\x01\r\n" + smuggled + "\r\n0\r\n\r\n", ErrChunkExt},
		{"chunk extension unquoted space", chunked + "21;a=b c\r\n" + smuggled + "\r\n0\r\n\r\n", ErrChunkExt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assertRefused(t, tt.in, tt.want) })
	}
}

// CVE-2024-49768: with request lookahead on, a bad first request that
// exactly filled one read was answered, yet the request pipelined behind it
// was still executed. Here no byte after a refused request is ever parsed,
// however the input is split.
func TestCVE_2024_49768_NothingAfterBadRequest(t *testing.T) {
	bad := "GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n"
	in := []byte(bad + smuggled)
	for cut := 1; cut <= len(in); cut++ {
		p := New(Limits{})
		var seen []Event
		for _, piece := range [][]byte{in[:cut], in[cut:]} {
			for {
				n, ev, _ := p.Parse(piece)
				piece = piece[n:]
				seen = append(seen, ev)
				if ev == EventNeedMore || ev == EventError {
					break
				}
			}
		}
		assert.NotContains(t, seen, EventHead, "cut %d", cut)
		assert.NotContains(t, seen, EventDone, "cut %d", cut)
		assert.ErrorIs(t, p.Err(), ErrFieldName, "cut %d", cut)
	}
}

// Waitress (unreleased fixes): chunked twice, TE with CL, duplicate Host.
func TestWaitressUnreleasedFixes(t *testing.T) {
	assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"+smuggled, ErrTransferEncoding)
	assertRefused(t, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+smuggled, ErrChunkedWithLength)
	assertRefused(t, "GET / HTTP/1.1\r\nHost: good\r\nHost: evil\r\n\r\n", ErrDuplicateHost)
}
