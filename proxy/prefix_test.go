package proxy

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizePrefix(t *testing.T) {
	for in, want := range map[string]string{
		"":          "",
		"/":         "",
		" ///  ":    "",
		"app":       "/app",
		"/app/":     "/app",
		"//app//":   "/app",
		" /a/b ":    "/a/b",
		"/v1.2~x@y": "/v1.2~x@y",
	} {
		got, err := NormalizePrefix(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"/a//b", "/a/../b", "/a/./b", "/a b", "/a?b", "/a#b", "/a%20b", "/ä"} {
		_, err := NormalizePrefix(in)
		assert.Error(t, err, in)
	}
}

func TestStripPrefix(t *testing.T) {
	type seen struct{ path, rawPath, requestURI, prefix string }
	var got *seen
	h, err := StripPrefix(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = &seen{r.URL.Path, r.URL.RawPath, r.RequestURI, URLPrefix(r)}
		w.WriteHeader(http.StatusNoContent)
	}), "/app/")
	require.NoError(t, err)
	tests := []struct {
		method, target string
		status         int
		want           *seen
		location       string
	}{
		{"GET", "/app/", 204, &seen{"/", "", "/app/", "/app"}, ""},
		{"GET", "/app/x/y?q=1", 204, &seen{"/x/y", "", "/app/x/y?q=1", "/app"}, ""},
		{"GET", "/app/a%2Fb", 204, &seen{"/a/b", "/a%2Fb", "/app/a%2Fb", "/app"}, ""},
		{"GET", "/app", 301, nil, "/app/"},
		{"HEAD", "/app?x=1", 301, nil, "/app/?x=1"},
		{"POST", "/app", 308, nil, "/app/"},
		{"GET", "/apple", 404, nil, ""},
		{"GET", "/", 404, nil, ""},
		{"GET", "/other/app/", 404, nil, ""},
		{"GET", "/%61pp/x", 404, nil, ""}, // the client escaped the prefix: not the same bytes
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest(tt.method, tt.target, nil)
			u, err := url.ParseRequestURI(tt.target)
			require.NoError(t, err)
			r.URL = u
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.location, rec.Header().Get("Location"))
		})
	}
}

func TestStripPrefixEmpty(t *testing.T) {
	next := http.RedirectHandler("/x", http.StatusFound)
	h, err := StripPrefix(next, "/")
	require.NoError(t, err)
	assert.Same(t, next, h, "no prefix, no middleware")
	_, err = StripPrefix(next, "/a/../b")
	require.Error(t, err)
	assert.Empty(t, URLPrefix(httptest.NewRequest(http.MethodGet, "/", nil)))
}

func TestSchemeAndPort(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://example.com:8080/", nil)
	assert.Equal(t, "http", Scheme(r))
	assert.Equal(t, "8080", Port(r))
	r = httptest.NewRequest(http.MethodGet, "https://example.com/", nil)
	assert.Equal(t, "https", Scheme(r), "httptest sets TLS for https targets")
	assert.Equal(t, "443", Port(r))
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL.Scheme, r.URL.Host = "https", "example.com" // a client's absolute-form target
	assert.Equal(t, "http", Scheme(r), "the client's own claim is not believed")
	r.URL.Host = ""
	assert.Equal(t, "https", Scheme(r), "as the proxy middleware sets it")
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "[::1]"
	assert.Equal(t, "http", Scheme(r))
	assert.Equal(t, "80", Port(r))
}
