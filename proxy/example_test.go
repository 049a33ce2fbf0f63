package proxy_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/carhop/carhop/proxy"
)

// Behind one NGINX on 10.0.0.5 that sets X-Forwarded-For (appending to
// whatever the client sent) and X-Forwarded-Proto, only the entry NGINX
// appended is believed.
func ExampleHandler() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, r.RemoteAddr, proxy.Scheme(r), r.Header.Get("X-Forwarded-For"))
	})
	h, err := proxy.Handler(app, proxy.Config{
		TrustedProxies: []string{"10.0.0.5"},
		TrustedHeaders: []string{"x-forwarded-for", "x-forwarded-proto"},
	})
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "10.0.0.5:41000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6, 203.0.113.7") // 6.6.6.6 is the client's invention
	r.Header.Set("X-Forwarded-Proto", "https")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body.String())

	// The same headers from anyone else are dropped.
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "198.51.100.9:5000"
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body.String())
	// Output:
	// 203.0.113.7:0 https 203.0.113.7
	// 198.51.100.9:5000 http
}

// A malformed header from a trusted proxy is refused, not guessed at.
func ExampleHandler_malformed() {
	h, _ := proxy.Handler(http.NotFoundHandler(), proxy.Config{
		TrustedProxies: []string{"*"},
		TrustedHeaders: []string{"forwarded"},
		Logger:         slog.New(slog.DiscardHandler), // one Warn record per refusal
	})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Forwarded", `for="192.0.2.1;proto=https`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 400 400 Bad Request: malformed Forwarded header: unterminated quoted string
}

// StripPrefix is Waitress's url_prefix: the proxy passes /app/... through
// and the application sees paths from its own root.
func ExampleStripPrefix() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s, mounted at %s, asked for %s\n", r.URL.Path, proxy.URLPrefix(r), r.RequestURI)
	})
	h, err := proxy.StripPrefix(mux, "/app")
	if err != nil {
		panic(err)
	}
	for _, target := range []string{"/app/hello", "/app", "/hello"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		switch w.Code {
		case http.StatusOK:
			fmt.Print(target, " -> ", w.Body.String())
		case http.StatusMovedPermanently:
			fmt.Println(target, "->", w.Code, w.Header().Get("Location"))
		default:
			fmt.Println(target, "->", w.Code)
		}
	}
	// Output:
	// /app/hello -> /hello, mounted at /app, asked for /app/hello
	// /app -> 301 /app/
	// /hello -> 404
}
