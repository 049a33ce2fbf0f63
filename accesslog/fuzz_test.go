package accesslog

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzCombinedLine feeds client-controlled request fields to the line
// formatter and checks that no input can break a line apart: one line,
// printable ASCII only, and exactly the six unescaped quotes of the
// request, referer and user-agent fields.
func FuzzCombinedLine(f *testing.F) {
	f.Add("GET", "/a?b=c", "HTTP/1.1", "192.0.2.1:80", "https://example.com/", "curl/8.0")
	f.Add("GET", "/\" 200 1\n1.2.3.4 - - [x]", "HTTP/1.1", "unix socket", "\\\"", "\x00\xff\x7f\t")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, target, proto, remote, referer, ua string) {
		h := &lineHandler{combined: true}
		r := &http.Request{Method: method, RequestURI: target, Proto: proto, RemoteAddr: remote, Header: http.Header{}}
		if target == "" {
			r.RequestURI = "/"
		}
		r.Header["Referer"] = []string{referer}
		r.Header["User-Agent"] = []string{ua}
		rec := &record{start: time.Unix(1700000000, 0), w: responseWriter{status: 200, bytes: 5}}
		line := string(h.appendLine(nil, rec, r))
		if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
			t.Fatalf("not one line: %q", line)
		}
		quotes := 0
		for i := 0; i < len(line)-1; i++ {
			c := line[i]
			if c < 0x20 || c >= 0x7f {
				t.Fatalf("byte %#x at %d in %q", c, i, line)
			}
			switch c {
			case '\\':
				i++ // an escape: the next byte is part of it
			case '"':
				quotes++
			}
		}
		if quotes != 6 {
			t.Fatalf("%d unescaped quotes in %q", quotes, line)
		}
		// The first field, the host, has no unescaped space.
		if sp := strings.IndexByte(line, ' '); !strings.HasPrefix(line[sp:], " - - [") {
			t.Fatalf("host field broken: %q", line)
		}
	})
}
