package proxy

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler measures the middleware alone, per request, with a
// no-op handler behind it. The request is reset between iterations
// without allocating, so allocs/op are the middleware's own.
//
//	go test -run XXX -bench . -benchmem ./proxy/
func BenchmarkHandler(b *testing.B) {
	xcfg := Config{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeaders: []string{"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"}}
	fcfg := Config{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeaders: []string{"forwarded"}}
	cases := []struct {
		name string
		cfg  Config
		peer string
		hdr  map[string]string
	}{
		{"direct client, nothing to clear", xcfg, "192.0.2.1:4000", nil},
		{"direct client, clears spoofed X-Forwarded-For", xcfg, "192.0.2.1:4000", map[string]string{"X-Forwarded-For": "1.2.3.4"}},
		{"trusted, X-Forwarded-For and -Proto", xcfg, "10.0.0.1:4000", map[string]string{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}},
		{"trusted, X-Forwarded-For/-Proto/-Host/-Port", xcfg, "10.0.0.1:4000", map[string]string{
			"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "example.com", "X-Forwarded-Port": "8443",
		}},
		{"trusted, spoofed X-Forwarded-For trimmed", xcfg, "10.0.0.1:4000", map[string]string{"X-Forwarded-For": "1.2.3.4, 5.6.7.8, 203.0.113.7", "X-Forwarded-Proto": "https"}},
		{"trusted, Forwarded", fcfg, "10.0.0.1:4000", map[string]string{"Forwarded": `for="[2001:db8::1]:4711";proto=https;host=example.com`}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			c.cfg.Logger = slog.New(slog.DiscardHandler)
			h, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("User-Agent", "bench")
			r.Header.Set("Accept", "*/*")
			type field struct {
				name, value string
				line        []string
			}
			var fields []field
			for k, v := range c.hdr {
				fields = append(fields, field{k, v, []string{v}})
			}
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				// Reset what the middleware may have changed: one map
				// assignment per proxy header is the benchmark's own cost.
				r.RemoteAddr, r.Host, r.URL.Scheme = c.peer, "backend", ""
				for _, f := range fields {
					f.line[0] = f.value
					r.Header[f.name] = f.line
				}
				h.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkStripPrefix(b *testing.B) {
	h, err := StripPrefix(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "/app")
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/app/x", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.URL.Path = "/app/x"
		h.ServeHTTP(w, r)
	}
}

func BenchmarkScanForwarded(b *testing.B) {
	lines := []string{`for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https;host=example.com;by=203.0.113.60`}
	b.ReportAllocs()
	for b.Loop() {
		var f forwarding
		var w window
		n, _ := scanForwarded(lines, 1<<62, nil, nil)
		_, _ = scanForwarded(lines, n-1, &f, &w)
	}
}
