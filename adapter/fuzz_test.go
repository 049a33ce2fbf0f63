package adapter

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// describeRequest is everything of r a handler can rely on that comes from
// the bytes of the request (not from the connection), with its body.
func describeRequest(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q %s %d.%d host=%q close=%v\n", r.Method, r.RequestURI, r.Proto, r.ProtoMajor, r.ProtoMinor, r.Host, r.Close)
	u := r.URL
	fmt.Fprintf(&b, "url %q: scheme=%q opaque=%q user=%v host=%q path=%q rawpath=%q query=%q forcequery=%v\n",
		u.String(), u.Scheme, u.Opaque, u.User, u.Host, u.Path, u.RawPath, u.RawQuery, u.ForceQuery)
	fmt.Fprintf(&b, "length=%d te=%q body=%q\n", r.ContentLength, r.TransferEncoding, body)
	for _, h := range []http.Header{r.Header, r.Trailer} {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%q=%q ", k, h[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// FuzzRequestMatchesNetHTTP gives the same bytes to net/http's request
// reader and to carhop's parser and adapter, and wherever both take the
// first request, the *http.Request the handler gets must be the one
// net/http would have built: method, target, URL, version, Host, header
// and trailer fields, framing, persistence, body. Which inputs each side
// takes is the parser's differential (parser.FuzzDifferential); this one
// covers what the adapter builds from them.
func FuzzRequestMatchesNetHTTP(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a%2Fb/c?x=1&y=%20#frag HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://user@example.com:8080/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"CONNECT [::1]:8443 HTTP/1.1\r\n\r\n",
		"CONNECT /_goRPC_ HTTP/1.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\nPragma: no-cache\r\n\r\n",
		"POST /f HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nx=1&y=2",
		"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3\r\nabc\r\n0\r\nX-T: v\r\nX-U: w\r\n\r\n",
		"GET / HTTP/1.1\r\nhost: h\r\naccept-encoding: gzip\r\nX-Dup: 1\r\nx-dup: 2\r\nConnection: close\r\n\r\n",
		"GET /?;x HTTP/1.1\r\nHost: [::1]:80\r\nExpect: 100-continue\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4000 {
			t.Skip("longer than net/http's read buffer") // as in parser.FuzzDifferential
		}
		want, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			return
		}
		wantBody, err := io.ReadAll(want.Body)
		if err != nil {
			return
		}
		var got string
		served := false
		u := newUnit(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			if served {
				return // a later pipelined request
			}
			served = true
			body, _ := io.ReadAll(r.Body)
			got = describeRequest(r, body)
		}))
		u.feed(data)
		if !served {
			return // refused, or incomplete: the parser's differential judges
		}
		if w := describeRequest(want, wantBody); got != w {
			t.Fatalf("input %q\ncarhop's request:\n%s\nnet/http's:\n%s", data, got, w)
		}
	})
}
