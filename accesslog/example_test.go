package accesslog_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"

	"github.com/carhop/carhop/accesslog"
)

// A Combined Log Format line per request. The time is masked here so that
// the output is reproducible.
func ExampleHandler() {
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})
	masked := maskTime{os.Stdout}
	h := accesslog.Handler(app, masked, accesslog.Combined)

	r := httptest.NewRequest(http.MethodGet, "/greet?name=carhop", nil)
	r.RemoteAddr = "203.0.113.7:51000"
	r.Header.Set("User-Agent", "curl/8.5.0")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// 203.0.113.7 - - [TIME] "GET /greet?name=carhop HTTP/1.1" 200 5 "-" "curl/8.5.0"
}

var clfTime = regexp.MustCompile(`\[[^]]+\]`)

type maskTime struct{ w io.Writer }

func (m maskTime) Write(p []byte) (int, error) {
	_, err := m.w.Write(clfTime.ReplaceAll(p, []byte("[TIME]")))
	return len(p), err
}

// Structured records through any slog handler; here text, without the
// time and duration so that the output is reproducible.
func ExampleSlogHandler() {
	l := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	app := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no such page", http.StatusNotFound)
	})
	r := httptest.NewRequest(http.MethodGet, "/missing", nil)
	r.RemoteAddr = "[2001:db8::7]:51000"
	accesslog.SlogHandler(app, l).ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// level=INFO msg=request remote=[2001:db8::7]:51000 method=GET target=/missing proto=HTTP/1.1 status=404 bytes=13 referer="" user_agent=""
}

// ParseFormat turns a configuration value into a Format.
func ExampleParseFormat() {
	f, err := accesslog.ParseFormat("Combined")
	fmt.Println(f, err)
	_, err = accesslog.ParseFormat("nginx")
	fmt.Println(err)
	// Output:
	// combined <nil>
	// accesslog: unknown format "nginx" (want common, combined or json)
}
