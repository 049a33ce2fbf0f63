package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzHeaders runs the middleware over proxy headers from the network, in
// both trust modes, and checks what it promises: a 200 with sane values or
// a 400 without running the handler, never a panic; believed lists trimmed
// to substrings of what was sent.
func FuzzHeaders(f *testing.F) {
	seeds := [][5]string{
		{"for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.1, 198.51.100.2", "example.com", "https", "443"},
		{`for="[2001:db8:cafe::17]:4711"`, "2001:db8::1", "[2001:db8::5]:8443", "HTTP", "8080"},
		{`For="[2001:db8::1]:3821";host="example.com:8443";proto="https", for=192.0.2.1;host="example.internal:8080"`, `"[::1]:80"`, "a, b", "", ""},
		{"for=unknown, for=_hidden;by=_x, for=\"192.0.2.43:_abc\"", "unknown", "", "http, https", "443, 80"},
		{`for=192.0.2.1;ext="a, for=6.6.6.6" ;; , ;`, "1.2.3.4:5", "example.com:", "x", "0"},
		{`for="\"\\`, `"foo`, `"a"b"`, `"https"`, `"80"`},
		{"for=1.2.3.4;for=5.6.7.8", ",,,", " , example.org ,", " https ", "65536"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4])
	}
	quiet := slog.New(slog.DiscardHandler)
	configs := []Config{
		{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"forwarded"}, TrustedCount: 2, Logger: quiet},
		{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeaders: []string{"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}, Logger: quiet},
	}
	f.Fuzz(func(t *testing.T, forwarded, xfor, xhost, xproto, xport string) {
		for _, cfg := range configs {
			var got *http.Request
			h, err := Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }), cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "10.0.0.1:5000"
			sent := map[string]string{
				"Forwarded": forwarded, "X-Forwarded-For": xfor, "X-Forwarded-Host": xhost,
				"X-Forwarded-Proto": xproto, "X-Forwarded-Port": xport,
			}
			for k, v := range sent {
				// Field lines separated by "\n" stand for repeated headers.
				r.Header[k] = strings.Split(v, "\n")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			switch rec.Code {
			case http.StatusBadRequest:
				if got != nil {
					t.Fatal("handler ran after a 400")
				}
				continue
			case http.StatusOK:
			default:
				t.Fatalf("status %d", rec.Code)
			}
			if got == nil {
				t.Fatal("handler did not run")
			}
			if got.RemoteAddr != "10.0.0.1:5000" {
				if _, err := netip.ParseAddrPort(got.RemoteAddr); err != nil {
					t.Fatalf("RemoteAddr %q: %v", got.RemoteAddr, err)
				}
			}
			if got.Host != "example.com" && !httpguts.ValidHostHeader(got.Host) {
				t.Fatalf("invalid Host %q", got.Host)
			}
			if s := Scheme(got); s != "http" && s != "https" {
				t.Fatalf("scheme %q", s)
			}
			for k, vs := range got.Header {
				if k == "X-Forwarded-By" {
					continue
				}
				for _, v := range vs {
					if !strings.Contains(sent[k], v) {
						t.Fatalf("%s: %q is not part of what was sent (%q)", k, v, sent[k])
					}
				}
			}
		}
	})
}

// FuzzForwardedSyntax checks the Forwarded scanner alone: counting and
// folding passes agree, and the window points inside the field lines.
func FuzzForwardedSyntax(f *testing.F) {
	for _, s := range []string{
		"for=192.0.2.60;proto=http;by=203.0.113.43",
		`for="_gazonk"`,
		`For="[2001:db8:cafe::17]:4711"`,
		"for=192.0.2.43, for=198.51.100.17",
		`a=b;c="d\"e";f=g, , ;;`,
		`for=1;for=2`,
		"for=\"\x01\"",
	} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, v string, count int) {
		lines := strings.Split(v, "\n")
		n, err := scanForwarded(lines, 1<<62, nil, nil)
		if err != nil {
			return
		}
		count = count%8 + 8
		var fw forwarding
		var w window
		n2, err := scanForwarded(lines, max(n-count, 0), &fw, &w)
		if err != nil || n2 != n {
			t.Fatalf("second pass: %d elements (first %d), %v", n2, n, err)
		}
		if n > 0 && (w.line >= len(lines) || w.offset > len(lines[w.line])) {
			t.Fatalf("window %+v outside %q", w, lines)
		}
	})
}
