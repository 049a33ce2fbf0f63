package accesslog

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler measures the access log per request, with a handler
// that writes a 5-byte body to a recorder and the log going to
// io.Discard, so that the cost is the middleware's: wrapping, timing and
// formatting.
//
//	go test -run XXX -bench . -benchmem ./accesslog/
func BenchmarkHandler(b *testing.B) {
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{
		{"none", app},
		{"common", Handler(app, io.Discard, Common)},
		{"combined", Handler(app, io.Discard, Combined)},
		{"json", Handler(app, io.Discard, JSON)},
		{"slog disabled", SlogHandler(app, slog.New(slog.DiscardHandler))},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "/some/path?q=1", nil)
			r.RemoteAddr = "203.0.113.7:51000"
			r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
			r.Header.Set("Referer", "https://example.com/")
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				w.Body.Reset()
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
