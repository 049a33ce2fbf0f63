package parser

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseValidRequests(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []parsed
	}{{
		name:  "minimal HTTP/1.1 GET",
		input: crlf("GET / HTTP/1.1\nHost: example.com\n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1", Headers: []string{"Host: example.com"},
			Host: "example.com", HasHost: true, KeepAlive: true}},
	}, {
		name:  "HTTP/1.0 needs no Host and closes by default",
		input: crlf("GET /a?b=c HTTP/1.0\n\n"),
		want:  []parsed{{Method: "GET", Target: "/a?b=c", Proto: "HTTP/1.0"}},
	}, {
		name:  "HTTP/1.0 keep-alive",
		input: crlf("GET / HTTP/1.0\nConnection: Keep-Alive\n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.0", Headers: []string{"Connection: Keep-Alive"},
			KeepAlive: true}},
	}, {
		name:  "HTTP/1.1 Connection close among other options",
		input: crlf("GET / HTTP/1.1\nHost: h\nConnection: upgrade, CLOSE\n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Connection: upgrade, CLOSE"}, Host: "h", HasHost: true}},
	}, {
		name:  "empty lines before the request are skipped",
		input: crlf("\n\nGET / HTTP/1.1\nHost: h\n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1", Headers: []string{"Host: h"},
			Host: "h", HasHost: true, KeepAlive: true}},
	}, {
		name:  "OWS around values is trimmed, inner space kept, case of names kept",
		input: crlf("GET / HTTP/1.1\nHOST:h\nX-Thing: \t a  b \t\n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1", Headers: []string{"HOST: h", "X-Thing: a  b"},
			Host: "h", HasHost: true, KeepAlive: true}},
	}, {
		name:  "empty Host and empty field values",
		input: crlf("GET / HTTP/1.1\nHost:\nX-Empty:   \n\n"),
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1", Headers: []string{"Host: ", "X-Empty: "},
			HasHost: true, KeepAlive: true}},
	}, {
		name:  "obs-text in a value is allowed",
		input: "GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n",
		want: []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.1", Headers: []string{"Host: h", "X-Name: caf\xc3\xa9"},
			Host: "h", HasHost: true, KeepAlive: true}},
	}, {
		name:  "Content-Length body",
		input: crlf("POST /upload HTTP/1.1\nHost: h\nContent-Length: 5\n\n") + "hello",
		want: []parsed{{Method: "POST", Target: "/upload", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Content-Length: 5"}, Host: "h", HasHost: true,
			ContentLength: 5, KeepAlive: true, Body: "hello"}},
	}, {
		name:  "identical duplicate Content-Length is one length",
		input: crlf("POST / HTTP/1.1\nHost: h\nContent-Length: 2\nContent-Length: 2\n\n") + "ok",
		want: []parsed{{Method: "POST", Target: "/", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Content-Length: 2", "Content-Length: 2"}, Host: "h", HasHost: true,
			ContentLength: 2, KeepAlive: true, Body: "ok"}},
	}, {
		name: "chunked body with extensions and trailers",
		input: crlf("POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n") +
			"5;name=val;quoted=\"a \\\"b\\\"\"\r\nhello\r\n" + "6 ; x\r\n world\r\n" + "0\r\nX-Sum: 42\r\n\r\n",
		want: []parsed{{Method: "POST", Target: "/", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Transfer-Encoding: chunked"}, Host: "h", HasHost: true,
			ContentLength: -1, Chunked: true, KeepAlive: true, Body: "hello world", Trailers: []string{"X-Sum: 42"}}},
	}, {
		name:  "upper- and lower-case hex chunk sizes",
		input: crlf("POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n") + "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
		want: []parsed{{Method: "POST", Target: "/", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Transfer-Encoding: chunked"}, Host: "h", HasHost: true,
			ContentLength: -1, Chunked: true, KeepAlive: true, Body: "0123456789abcdefghij"}},
	}, {
		name:  "Expect: 100-continue",
		input: crlf("PUT /x HTTP/1.1\nHost: h\nExpect: 100-Continue\nContent-Length: 1\n\n") + "x",
		want: []parsed{{Method: "PUT", Target: "/x", Proto: "HTTP/1.1",
			Headers: []string{"Host: h", "Expect: 100-Continue", "Content-Length: 1"}, Host: "h", HasHost: true,
			ContentLength: 1, KeepAlive: true, Continue: true, Body: "x"}},
	}, {
		name:  "HTTP/1.0 expectations are ignored",
		input: crlf("GET / HTTP/1.0\nExpect: 100-continue\n\n"),
		want:  []parsed{{Method: "GET", Target: "/", Proto: "HTTP/1.0", Headers: []string{"Expect: 100-continue"}}},
	}, {
		name:  "Upgrade is reported",
		input: crlf("GET /ws HTTP/1.1\nHost: h\nUpgrade: websocket\n\n"),
		want: []parsed{{Method: "GET", Target: "/ws", Proto: "HTTP/1.1", Headers: []string{"Host: h", "Upgrade: websocket"},
			Host: "h", HasHost: true, KeepAlive: true, Upgrade: true}},
	}, {
		name:  "absolute form",
		input: crlf("GET http://example.com/x?y HTTP/1.1\nHost: example.com\n\n"),
		want: []parsed{{Method: "GET", Target: "http://example.com/x?y", Form: AbsoluteForm, Proto: "HTTP/1.1",
			Headers: []string{"Host: example.com"}, Host: "example.com", HasHost: true, KeepAlive: true}},
	}, {
		name:  "asterisk form",
		input: crlf("OPTIONS * HTTP/1.1\nHost: h\n\n"),
		want: []parsed{{Method: "OPTIONS", Target: "*", Form: AsteriskForm, Proto: "HTTP/1.1",
			Headers: []string{"Host: h"}, Host: "h", HasHost: true, KeepAlive: true}},
	}, {
		name:  "CONNECT in authority form needs no Host and fences what follows",
		input: crlf("CONNECT example.com:443 HTTP/1.1\n\n"),
		want: []parsed{{Method: "CONNECT", Target: "example.com:443", Form: AuthorityForm, Proto: "HTTP/1.1",
			KeepAlive: true, Upgrade: true}},
	}, {
		name:  "CONNECT to an IP literal, with Host and an empty length",
		input: crlf("CONNECT [2001:db8::1]:8443 HTTP/1.1\nHost: [2001:db8::1]:8443\nContent-Length: 0\n\n"),
		want: []parsed{{Method: "CONNECT", Target: "[2001:db8::1]:8443", Form: AuthorityForm, Proto: "HTTP/1.1",
			Headers: []string{"Host: [2001:db8::1]:8443", "Content-Length: 0"}, Host: "[2001:db8::1]:8443", HasHost: true,
			KeepAlive: true, Upgrade: true}},
	}, {
		name:  "CONNECT in origin form, as net/rpc sends it",
		input: crlf("CONNECT /_goRPC_ HTTP/1.0\n\n"),
		want:  []parsed{{Method: "CONNECT", Target: "/_goRPC_", Proto: "HTTP/1.0", Upgrade: true}},
	}, {
		name:  "the HTTP/2 preface's request line fences what follows and closes",
		input: crlf("PRI * HTTP/2.0\n\n"),
		want:  []parsed{{Method: "PRI", Target: "*", Form: AsteriskForm, Proto: "HTTP/2.0", Upgrade: true}},
	}, {
		name:  "extension method and percent-encoded target",
		input: crlf("PROPFIND /a%20b/%C3%A9 HTTP/1.1\nHost: h\n\n"),
		want: []parsed{{Method: "PROPFIND", Target: "/a%20b/%C3%A9", Proto: "HTTP/1.1",
			Headers: []string{"Host: h"}, Host: "h", HasHost: true, KeepAlive: true}},
	}, {
		name: "pipelined requests are parsed in order",
		input: crlf("GET /1 HTTP/1.1\nHost: h\n\nPOST /2 HTTP/1.1\nHost: h\nContent-Length: 3\n\n") + "abc" +
			crlf("GET /3 HTTP/1.1\nHost: h\nConnection: close\n\n"),
		want: []parsed{
			{Method: "GET", Target: "/1", Proto: "HTTP/1.1", Headers: []string{"Host: h"}, Host: "h", HasHost: true, KeepAlive: true},
			{Method: "POST", Target: "/2", Proto: "HTTP/1.1", Headers: []string{"Host: h", "Content-Length: 3"},
				Host: "h", HasHost: true, ContentLength: 3, KeepAlive: true, Body: "abc"},
			{Method: "GET", Target: "/3", Proto: "HTTP/1.1", Headers: []string{"Host: h", "Connection: close"},
				Host: "h", HasHost: true},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := feed(Limits{}, tt.input)
			require.NoError(t, tr.Err)
			assert.Equal(t, tt.want, tr.Requests)
			assert.Zero(t, tr.Rest, "bytes left over")
		})
	}
}

// TestSplitInvariance feeds every input of the valid and invalid tables
// split at every single point, and at every pair of points for short
// inputs, and one byte at a time: the transcript must not change.
func TestSplitInvariance(t *testing.T) {
	inputs := []string{
		crlf("\nGET /a HTTP/1.1\nHost: h\nX: y\n\nGET /b HTTP/1.0\n\n"),
		crlf("POST / HTTP/1.1\nHost: h\nContent-Length: 11\n\n") + "hello world",
		crlf("POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n") + "3;a=\"b\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nT: 1\r\n\r\n",
		crlf("GET / HTTP/1.1\nHost: h\n\n") + "GET / HTTP/1.1\nHost: h\r\n\r\n",
		crlf("POST / HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n") + "3\r\nabcX\r\n",
		crlf("GET / HTTP/1.1\nHost: h\n folded\n\n"),
	}
	for _, in := range inputs {
		whole := feed(Limits{}, in)
		for i := 0; i <= len(in); i++ {
			require.Equal(t, whole, feed(Limits{}, in, i), "split at %d of %q", i, in)
		}
		if len(in) <= 120 {
			for i := 0; i <= len(in); i++ {
				for j := i; j <= len(in); j++ {
					require.Equal(t, whole, feed(Limits{}, in, i, j), "split at %d,%d of %q", i, j, in)
				}
			}
		}
		bytewise := make([]int, len(in))
		for i := range bytewise {
			bytewise[i] = i
		}
		require.Equal(t, whole, feed(Limits{}, in, bytewise...), "byte at a time: %q", in)
	}
}

// TestStopsAtRequestBoundary checks that the parser consumes exactly one
// request and leaves the next one's bytes alone for the caller.
func TestStopsAtRequestBoundary(t *testing.T) {
	first := crlf("POST / HTTP/1.1\nHost: h\nContent-Length: 2\n\n") + "ab"
	second := crlf("GET /next HTTP/1.1\nHost: h\n\n")
	in := []byte(first + second)
	p := New(Limits{})
	consumed := 0
	for {
		n, ev, err := p.Parse(in[consumed:])
		require.NoError(t, err)
		consumed += n
		if ev == EventDone {
			break
		}
		require.NotEqual(t, EventNeedMore, ev)
	}
	assert.Equal(t, len(first), consumed)
	assert.Equal(t, second, string(in[consumed:]))
}

func TestNothingParsedAfterError(t *testing.T) {
	p := New(Limits{})
	bad := crlf("GET / HTTP/1.1\nHost: a\nHost: b\n\n")
	next := crlf("GET /smuggled HTTP/1.1\nHost: h\n\n")
	n, ev, err := p.Parse([]byte(bad + next))
	require.ErrorIs(t, err, ErrDuplicateHost)
	assert.Equal(t, EventError, ev)
	assert.LessOrEqual(t, n, len(bad))
	for range 3 {
		n, ev, err = p.Parse([]byte(next))
		assert.Zero(t, n)
		assert.Equal(t, EventError, ev)
		assert.ErrorIs(t, err, ErrDuplicateHost)
	}
	assert.ErrorIs(t, p.Err(), ErrDuplicateHost)
	p.Reset()
	assert.NoError(t, p.Err())
}

func TestReuseReleasesLargeBuffers(t *testing.T) {
	p := New(Limits{})
	big := "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
	tr := feedParser(t, p, big)
	require.Len(t, tr, 1)
	// feedParser's last call began the next request, which must not
	// have kept the 100 KiB head buffer.
	assert.LessOrEqual(t, cap(p.head), retainCap)
}

// feedParser runs an existing parser over whole requests and returns the
// targets of those it completed.
func feedParser(t *testing.T, p *Parser, in string) []string {
	t.Helper()
	var done []string
	b := []byte(in)
	for {
		n, ev, err := p.Parse(b)
		require.NoError(t, err)
		b = b[n:]
		switch ev {
		case EventDone:
			done = append(done, string(p.Request().Target))
		case EventNeedMore:
			return done
		}
	}
}

// TestViewsAreInsideHead checks that every slice of a parsed head points
// into Request.Head at Offset, even when the head buffer had to grow while
// the fields arrived (the request line is parsed before the buffer grows).
func TestViewsAreInsideHead(t *testing.T) {
	in := "GET /target?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Long: " + strings.Repeat("v", 5000) + "\r\nX-B: b\r\n\r\n"
	for _, cuts := range [][]int{nil, {10}, {30, 2000, 5030}} {
		p := New(Limits{})
		b := []byte(in)
		pieces := append(append([]int(nil), cuts...), len(b))
		prev, done := 0, false
		for _, c := range pieces {
			n, ev, err := p.Parse(b[prev:c])
			require.NoError(t, err)
			require.Equal(t, c-prev, n)
			prev = c
			if ev == EventHead {
				done = true
			}
		}
		require.True(t, done)
		r := p.Request()
		at := func(v []byte) string { i := r.Offset(v); return string(r.Head[i : i+len(v)]) }
		assert.Equal(t, "GET", at(r.Method))
		assert.Equal(t, "/target?q=1", at(r.Target))
		assert.Equal(t, "example.com", at(r.Host))
		for _, h := range r.Headers {
			assert.Equal(t, string(h.Name), at(h.Name))
			assert.Equal(t, string(h.Value), at(h.Value))
		}
		assert.Equal(t, in, string(r.Head))
	}
}

// PartialHead counts what the parser holds of a head still arriving, and
// nothing once the head is complete: neither while the body arrives nor
// after the request.
func TestPartialFramingCountsAChunkLineOrTrailers(t *testing.T) {
	head := crlf("POST /p HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\n")
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"the head", head, 0},
		{"part of a chunk-size line", head + "3;ext=", 6},
		{"a chunk-size line but its LF", head + "3;ext=v\r", 8},
		{"chunk data", head + "3\r\nab", 0},
		{"the CRLF after chunk data", head + "3\r\nabc\r", 0},
		{"part of the last chunk's line", head + "3\r\nabc\r\n0", 1},
		{"part of a trailer field", head + "3\r\nabc\r\n0\r\nX-Sum: 12", 9},
		{"a trailer field and a half", head + "3\r\nabc\r\n0\r\nX-Sum: 12\r\nX-B", 14},
		{"the request", head + "3\r\nabc\r\n0\r\nX-Sum: 12\r\n\r\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Limits{})
			feedParser(t, p, tt.in)
			assert.Equal(t, tt.want, p.PartialFraming())
			assert.Zero(t, p.PartialHead(), "the head is complete")
			p.Reset()
			assert.Zero(t, p.PartialFraming())
		})
	}
}

func TestPartialHeadCountsAnIncompleteHead(t *testing.T) {
	head := crlf("POST /p HTTP/1.1\nHost: h\nContent-Length: 3\n\n")
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"nothing", "", 0},
		{"part of the request line", head[:5], 5},
		{"a field line and a half", head[:30], 30},
		{"all but the last CRLF", head[:len(head)-2], len(head) - 2},
		{"the head", head, 0},
		{"part of the body", head + "a", 0},
		{"the request", head + "abc", 0},
		{"empty lines before the request line", "\r\n\r\nGET", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New(Limits{})
			feedParser(t, p, tt.in)
			assert.Equal(t, tt.want, p.PartialHead())
			p.Reset()
			assert.Zero(t, p.PartialHead())
		})
	}
}
