package accesslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clfLine matches a Common/Combined line and captures the time field.
var clfTimeField = regexp.MustCompile(`\[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]`)

// lines runs one request through Handler and returns the log with the
// time replaced by TIME (after checking it parses and is now).
func logLine(t *testing.T, f Format, h http.HandlerFunc, r *http.Request) (string, *httptest.ResponseRecorder) {
	t.Helper()
	var out bytes.Buffer
	rec := httptest.NewRecorder()
	before := time.Now().Add(-time.Second)
	Handler(h, &out, f).ServeHTTP(rec, r)
	line := out.String()
	if f != JSON {
		m := clfTimeField.FindStringSubmatch(line)
		require.NotNil(t, m, line)
		ts, err := time.Parse(clfTime, m[1])
		require.NoError(t, err)
		assert.WithinRange(t, ts, before.Truncate(time.Second), time.Now().Add(time.Second))
		line = strings.Replace(line, m[0], "[TIME]", 1)
	}
	return line, rec
}

func TestCommonAndCombined(t *testing.T) {
	get := func() *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/a/b?c=d", nil)
		r.RemoteAddr = "192.0.2.7:4711"
		return r
	}
	tests := []struct {
		name     string
		h        http.HandlerFunc
		r        func() *http.Request
		common   string
		combined string
	}{
		{
			name:     "implicit 200",
			h:        func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") },
			r:        get,
			common:   `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 5` + "\n",
			combined: `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 5 "-" "-"` + "\n",
		},
		{
			name: "nothing written is 200 with no bytes",
			h:    func(http.ResponseWriter, *http.Request) {},
			r: func() *http.Request {
				r := get()
				r.Header.Set("Referer", "https://example.com/")
				r.Header.Set("User-Agent", "curl/8.0")
				return r
			},
			common:   `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 -` + "\n",
			combined: `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 - "https://example.com/" "curl/8.0"` + "\n",
		},
		{
			// 1xx responses are tested against real servers (server_test.go):
			// httptest.ResponseRecorder takes a 103 for the final status.
			name: "first status wins",
			h: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				w.WriteHeader(http.StatusTeapot) // superfluous: not logged either
				_, _ = w.(io.StringWriter).WriteString("gone")
			},
			r:        get,
			common:   `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 404 4` + "\n",
			combined: `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 404 4 "-" "-"` + "\n",
		},
		{
			name: "io.Copy through ReadFrom counts",
			h: func(w http.ResponseWriter, _ *http.Request) {
				_, _ = io.Copy(w, io.LimitReader(strings.NewReader(strings.Repeat("x", 10000)), 7000))
			},
			r:        get,
			common:   `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 7000` + "\n",
			combined: `192.0.2.7 - - [TIME] "GET /a/b?c=d HTTP/1.1" 200 7000 "-" "-"` + "\n",
		},
		{
			name: "hostile values are escaped",
			h:    func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
			r: func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				r.RequestURI = "/x\" 200 1\n1.2.3.4 - - [forged]"
				r.RemoteAddr = "unix socket"
				r.Header.Set("User-Agent", "a\"b\\c\x01\xff")
				return r
			},
			common:   `unix\x20socket - - [TIME] "GET /x\" 200 1\x0a1.2.3.4 - - [forged] HTTP/1.1" 204 -` + "\n",
			combined: `unix\x20socket - - [TIME] "GET /x\" 200 1\x0a1.2.3.4 - - [forged] HTTP/1.1" 204 - "-" "a\"b\\c\x01\xff"` + "\n",
		},
		{
			name: "IPv6 peer and no peer",
			h:    func(http.ResponseWriter, *http.Request) {},
			r: func() *http.Request {
				r := httptest.NewRequest(http.MethodHead, "/", nil)
				r.RemoteAddr = "[2001:db8::1]:443"
				r.Proto = "HTTP/1.0"
				return r
			},
			common:   `2001:db8::1 - - [TIME] "HEAD / HTTP/1.0" 200 -` + "\n",
			combined: `2001:db8::1 - - [TIME] "HEAD / HTTP/1.0" 200 - "-" "-"` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := logLine(t, Common, tt.h, tt.r())
			assert.Equal(t, tt.common, got)
			got, _ = logLine(t, Combined, tt.h, tt.r())
			assert.Equal(t, tt.combined, got)
		})
	}
}

func TestJSON(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/submit", strings.NewReader("x"))
	r.RemoteAddr = "192.0.2.7:4711"
	r.Header.Set("User-Agent", "Go-http-client/1.1")
	line, rec := logLine(t, JSON, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "created")
	}, r)
	assert.Equal(t, http.StatusCreated, rec.Code)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), line)
	assert.Equal(t, "request", m["msg"])
	assert.Equal(t, "INFO", m["level"])
	assert.Equal(t, "192.0.2.7:4711", m["remote"])
	assert.Equal(t, "POST", m["method"])
	assert.Equal(t, "/submit", m["target"])
	assert.Equal(t, "HTTP/1.1", m["proto"])
	assert.InDelta(t, 201, m["status"], 0)
	assert.InDelta(t, 7, m["bytes"], 0)
	assert.Equal(t, "", m["referer"])
	assert.Equal(t, "Go-http-client/1.1", m["user_agent"])
	assert.Greater(t, m["duration"], float64(0))
	assert.NotContains(t, m, "hijacked")
	assert.Equal(t, 1, strings.Count(line, "\n"))
}

func TestSlogHandlerDisabled(t *testing.T) {
	var out bytes.Buffer
	l := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	called := false
	SlogHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }), l).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.True(t, called)
	assert.Empty(t, out.String(), "Info records are off: nothing is logged")
}

func TestPanicIsLoggedAndPropagated(t *testing.T) {
	var out bytes.Buffer
	h := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), &out, Common)
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	assert.PanicsWithValue(t, "boom", func() { h.ServeHTTP(httptest.NewRecorder(), r) })
	assert.Contains(t, out.String(), `"GET /p HTTP/1.1" 500 -`)

	out.Reset()
	h = Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic(http.ErrAbortHandler)
	}), &out, Common)
	assert.Panics(t, func() { h.ServeHTTP(httptest.NewRecorder(), r) })
	assert.Contains(t, out.String(), `"GET /p HTTP/1.1" 202 -`, "the status already sent is what the client got")
}

type failingWriter struct{ n int }

func (f *failingWriter) Write([]byte) (int, error) { f.n++; return 0, errors.New("disk full") }

func TestWriteFailureReportedOnce(t *testing.T) {
	var logs bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(old)
	fw := &failingWriter{}
	h := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), fw, Combined)
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	assert.Equal(t, 3, fw.n, "every line is attempted")
	assert.Equal(t, 1, strings.Count(logs.String(), "disk full"), logs.String())
}

func TestFlushAndController(t *testing.T) {
	var out bytes.Buffer
	var flushErr, deadlineErr error
	h := Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, isFlusher := w.(http.Flusher)
		assert.True(t, isFlusher)
		rc := http.NewResponseController(w)
		flushErr = rc.Flush()
		deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _, err := rc.Hijack()
		assert.ErrorIs(t, err, http.ErrNotSupported, "a recorder cannot be hijacked; the wrapper must not pretend")
	}), &out, Common)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/f", nil))
	require.NoError(t, flushErr)
	assert.True(t, rec.Flushed, "Flush reached the recorder")
	assert.ErrorIs(t, deadlineErr, http.ErrNotSupported, "Unwrap reached the recorder, which has no deadlines")
	assert.Contains(t, out.String(), `"GET /f HTTP/1.1" 200 -`, "a flush sends the head")
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{Common, Combined, JSON} {
		got, err := ParseFormat(strings.ToUpper(f.String()))
		require.NoError(t, err)
		assert.Equal(t, f, got)
	}
	_, err := ParseFormat("apache")
	require.Error(t, err)
	assert.Equal(t, "Format(9)", Format(9).String())
	assert.Panics(t, func() { Handler(http.NotFoundHandler(), io.Discard, 0) })
	assert.Panics(t, func() { Handler(http.NotFoundHandler(), nil, Common) })
	assert.Panics(t, func() { SlogHandler(http.NotFoundHandler(), nil) })
}
