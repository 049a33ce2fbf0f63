package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seen is what the wrapped handler observed.
type seen struct {
	called     bool
	remoteAddr string
	host       string
	scheme     string
	port       string
	header     http.Header
}

func serve(t *testing.T, cfg Config, peer string, hdr map[string][]string, host string) (seen, *httptest.ResponseRecorder, string) {
	t.Helper()
	var logs bytes.Buffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	var s seen
	h, err := Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		s = seen{true, r.RemoteAddr, r.Host, Scheme(r), Port(r), r.Header.Clone()}
	}), cfg)
	require.NoError(t, err)
	r := httptest.NewRequest(http.MethodGet, "/path", nil)
	r.RemoteAddr = peer
	if host != "" {
		r.Host = host
	}
	for k, vs := range hdr {
		r.Header[k] = append([]string(nil), vs...)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return s, rec, logs.String()
}

func xff(v ...string) map[string][]string { return map[string][]string{"X-Forwarded-For": v} }

func TestTrustedXForwarded(t *testing.T) {
	all := []string{"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port"}
	tests := []struct {
		name    string
		cfg     Config
		peer    string
		hdr     map[string][]string
		remote  string
		host    string
		scheme  string
		port    string
		wantHdr map[string][]string // headers the handler must see (nil: none of the proxy headers)
	}{
		{
			name: "client address from a trusted proxy",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("203.0.113.7"),
			remote: "203.0.113.7:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("203.0.113.7"),
		},
		{
			name: "spoofed: the client's own X-Forwarded-For entry is not believed",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("1.2.3.4, 203.0.113.7"),
			remote: "203.0.113.7:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("203.0.113.7"), // trimmed to the believed hop
		},
		{
			name: "spoofed over several field lines",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("1.2.3.4", "5.6.7.8, 203.0.113.7"),
			remote: "203.0.113.7:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("203.0.113.7"),
		},
		{
			name: "count 2 believes the second hop from the right",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedCount: 2, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("192.0.2.1, 198.51.100.2, 203.0.113.1"),
			remote: "198.51.100.2:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("198.51.100.2, 203.0.113.1"),
		},
		{
			name: "count larger than the list believes the whole list",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedCount: 3, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("198.51.100.2"),
			remote: "198.51.100.2:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("198.51.100.2"),
		},
		{
			name: "IPv6 client without brackets",
			cfg:  Config{TrustedProxies: []string{"::1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "[::1]:5000", hdr: xff("2001:db8::1"),
			remote: "[2001:db8::1]:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("2001:db8::1"),
		},
		{
			name: "IPv6 client with brackets and port",
			cfg:  Config{TrustedProxies: []string{"::1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "[::1]:5000", hdr: xff(`"[2001:db8::1]:4711"`),
			remote: "[2001:db8::1]:4711", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff(`"[2001:db8::1]:4711"`),
		},
		{
			name: "IPv4 client with port",
			cfg:  Config{TrustedProxies: []string{"10.0.0.0/8"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.9.8.7:5000", hdr: xff("192.0.2.1:4711"),
			remote: "192.0.2.1:4711", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("192.0.2.1:4711"),
		},
		{
			name: "IPv4 peer mapped into IPv6 matches an IPv4 trusted proxy",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "[::ffff:10.0.0.1]:5000", hdr: xff("192.0.2.1"),
			remote: "192.0.2.1:0", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("192.0.2.1"),
		},
		{
			name: "unknown client leaves the peer",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}},
			peer: "10.0.0.1:5000", hdr: xff("unknown"),
			remote: "10.0.0.1:5000", host: "example.com", scheme: "http", port: "80",
			wantHdr: xff("unknown"),
		},
		{
			name: "proto https implies port 443 and leaves Host alone",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer: "10.0.0.1:5000", hdr: map[string][]string{"X-Forwarded-Proto": {"HTTPS"}},
			remote: "10.0.0.1:5000", host: "example.com", scheme: "https", port: "443",
			wantHdr: map[string][]string{"X-Forwarded-Proto": {"HTTPS"}},
		},
		{
			name:   "host with port wins over X-Forwarded-Port (Waitress)",
			cfg:    Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer:   "10.0.0.1:5000",
			hdr:    map[string][]string{"X-Forwarded-Host": {"example.org:8080"}, "X-Forwarded-Port": {"9090"}, "X-Forwarded-Proto": {"http"}},
			remote: "10.0.0.1:5000", host: "example.org:8080", scheme: "http", port: "8080",
			wantHdr: map[string][]string{"X-Forwarded-Host": {"example.org:8080"}, "X-Forwarded-Port": {"9090"}, "X-Forwarded-Proto": {"http"}},
		},
		{
			name: "X-Forwarded-Port folds into the forwarded host",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedCount: 2, TrustedHeaders: all},
			peer: "10.0.0.1:5000",
			hdr: map[string][]string{
				"X-Forwarded-For": {"192.0.2.1, 198.51.100.2, 203.0.113.1"}, "X-Forwarded-Host": {"example.com, example.org"},
				"X-Forwarded-Port": {"8080"}, "X-Forwarded-Proto": {"http"},
			},
			remote: "198.51.100.2:0", host: "example.com:8080", scheme: "http", port: "8080",
			wantHdr: map[string][]string{
				"X-Forwarded-For": {"198.51.100.2, 203.0.113.1"}, "X-Forwarded-Host": {"example.com, example.org"},
				"X-Forwarded-Port": {"8080"}, "X-Forwarded-Proto": {"http"},
			},
		},
		{
			name:   "count 1 takes the last forwarded host",
			cfg:    Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer:   "10.0.0.1:5000",
			hdr:    map[string][]string{"X-Forwarded-Host": {"example.com, example.org"}, "X-Forwarded-Port": {"8080"}},
			remote: "10.0.0.1:5000", host: "example.org:8080", scheme: "http", port: "8080",
			wantHdr: map[string][]string{"X-Forwarded-Host": {"example.org"}, "X-Forwarded-Port": {"8080"}},
		},
		{
			name:   "port 80 with https is kept in Host (Waitress)",
			cfg:    Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer:   "10.0.0.1:5000",
			hdr:    map[string][]string{"X-Forwarded-Host": {"example.com"}, "X-Forwarded-Port": {"80"}, "X-Forwarded-Proto": {"https"}},
			remote: "10.0.0.1:5000", host: "example.com:80", scheme: "https", port: "80",
			wantHdr: map[string][]string{"X-Forwarded-Host": {"example.com"}, "X-Forwarded-Port": {"80"}, "X-Forwarded-Proto": {"https"}},
		},
		{
			name:   "port 443 with https is left out of Host",
			cfg:    Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer:   "10.0.0.1:5000",
			hdr:    map[string][]string{"X-Forwarded-Host": {"example.com"}, "X-Forwarded-Port": {"443"}, "X-Forwarded-Proto": {"https"}},
			remote: "10.0.0.1:5000", host: "example.com", scheme: "https", port: "443",
			wantHdr: map[string][]string{"X-Forwarded-Host": {"example.com"}, "X-Forwarded-Port": {"443"}, "X-Forwarded-Proto": {"https"}},
		},
		{
			name: "a port alone replaces the port of Host",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer: "10.0.0.1:5000", hdr: map[string][]string{"X-Forwarded-Port": {"8443"}},
			remote: "10.0.0.1:5000", host: "example.com:8443", scheme: "http", port: "8443",
			wantHdr: map[string][]string{"X-Forwarded-Port": {"8443"}},
		},
		{
			name: "IPv6 forwarded host",
			cfg:  Config{TrustedProxies: []string{"*"}, TrustedHeaders: all},
			peer: "10.0.0.1:5000", hdr: map[string][]string{"X-Forwarded-Host": {"[2001:db8::5]:8443"}},
			remote: "10.0.0.1:5000", host: "[2001:db8::5]:8443", scheme: "http", port: "8443",
			wantHdr: map[string][]string{"X-Forwarded-Host": {"[2001:db8::5]:8443"}},
		},
		{
			name: "X-Forwarded-By is kept when trusted, others cleared",
			cfg:  Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-by"}},
			peer: "10.0.0.1:80",
			hdr: map[string][]string{
				"X-Forwarded-For": {"198.51.100.2"}, "X-Forwarded-By": {"Waitress"},
				"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"example.org"},
			},
			remote: "10.0.0.1:80", host: "example.com", scheme: "http", port: "80",
			wantHdr: map[string][]string{"X-Forwarded-By": {"Waitress"}},
		},
		{
			name:   "keeping untrusted headers",
			cfg:    Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-by"}, KeepUntrustedHeaders: true},
			peer:   "10.0.0.1:80",
			hdr:    map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.2"}, "X-Forwarded-Proto": {"https"}},
			remote: "10.0.0.1:80", host: "example.com", scheme: "http", port: "80",
			wantHdr: map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.2"}, "X-Forwarded-Proto": {"https"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec, _ := serve(t, tt.cfg, tt.peer, tt.hdr, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.True(t, s.called)
			assert.Equal(t, tt.remote, s.remoteAddr)
			assert.Equal(t, tt.host, s.host)
			assert.Equal(t, tt.scheme, s.scheme)
			assert.Equal(t, tt.port, s.port)
			assert.Equal(t, tt.wantHdr, proxyHeaders(s.header))
		})
	}
}

func proxyHeaders(h http.Header) map[string][]string {
	var out map[string][]string
	for _, n := range headerNames {
		if vs, ok := h[n]; ok {
			if out == nil {
				out = map[string][]string{}
			}
			out[n] = vs
		}
	}
	return out
}

func TestTrustedForwarded(t *testing.T) {
	cfg := func(count int) Config {
		return Config{TrustedProxies: []string{"*"}, TrustedCount: count, TrustedHeaders: []string{"forwarded"}}
	}
	tests := []struct {
		name      string
		cfg       Config
		forwarded []string
		remote    string
		host      string
		scheme    string
		left      []string // Forwarded as the handler sees it
	}{
		{
			name:      "all parameters",
			cfg:       cfg(1),
			forwarded: []string{"For=198.51.100.2:5858;host=example.com:8080;proto=https"},
			remote:    "198.51.100.2:5858", host: "example.com:8080", scheme: "https",
			left: []string{"For=198.51.100.2:5858;host=example.com:8080;proto=https"},
		},
		{
			name:      "quoted IPv6 with port, two proxies, oldest wins",
			cfg:       cfg(2),
			forwarded: []string{`for="[2001:db8::1]:3821";host="example.com:8443";proto="https", for=192.0.2.1;host="example.internal:8080"`},
			remote:    "[2001:db8::1]:3821", host: "example.com:8443", scheme: "https",
			left: []string{`for="[2001:db8::1]:3821";host="example.com:8443";proto="https", for=192.0.2.1;host="example.internal:8080"`},
		},
		{
			name:      "only two of three elements believed",
			cfg:       cfg(2),
			forwarded: []string{"For=192.0.2.1;host=fake.com, For=198.51.100.2;host=example.com:8080, For=203.0.113.1"},
			remote:    "198.51.100.2:0", host: "example.com:8080", scheme: "http",
			left: []string{"For=198.51.100.2;host=example.com:8080, For=203.0.113.1"},
		},
		{
			name:      "spoofed element on its own line",
			cfg:       cfg(1),
			forwarded: []string{"for=1.2.3.4;proto=https;host=evil.example", "for=203.0.113.9"},
			remote:    "203.0.113.9:0", host: "example.com", scheme: "http",
			left: []string{"for=203.0.113.9"},
		},
		{
			name:      "empty pairs and by are fine",
			cfg:       cfg(1),
			forwarded: []string{"For=198.51.100.2;;proto=https;by=_unused"},
			remote:    "198.51.100.2:0", host: "example.com", scheme: "https",
			left: []string{"For=198.51.100.2;;proto=https;by=_unused"},
		},
		{
			name:      "whitespace around semicolons",
			cfg:       cfg(1),
			forwarded: []string{"for=192.0.2.60; proto=https ; by=203.0.113.43"},
			remote:    "192.0.2.60:0", host: "example.com", scheme: "https",
			left: []string{"for=192.0.2.60; proto=https ; by=203.0.113.43"},
		},
		{
			name:      "quoted comma does not split elements",
			cfg:       cfg(1),
			forwarded: []string{`for=192.0.2.1;ext="a, for=6.6.6.6"`},
			remote:    "192.0.2.1:0", host: "example.com", scheme: "http",
			left: []string{`for=192.0.2.1;ext="a, for=6.6.6.6"`},
		},
		{
			name:      "obfuscated client keeps the peer",
			cfg:       cfg(1),
			forwarded: []string{`for=_hidden;proto=https`},
			remote:    "10.0.0.1:5000", host: "example.com", scheme: "https",
			left: []string{`for=_hidden;proto=https`},
		},
		{
			name:      "obfuscated port",
			cfg:       cfg(1),
			forwarded: []string{`for="192.0.2.43:_abc"`},
			remote:    "192.0.2.43:0", host: "example.com", scheme: "http",
			left: []string{`for="192.0.2.43:_abc"`},
		},
		{
			name:      "proto without host: https default port elided",
			cfg:       cfg(1),
			forwarded: []string{`for=192.0.2.1;host=example.org;proto=https`},
			remote:    "192.0.2.1:0", host: "example.org", scheme: "https",
			left: []string{`for=192.0.2.1;host=example.org;proto=https`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string][]string{"Forwarded": tt.forwarded, "X-Forwarded-For": {"6.6.6.6"}}
			s, rec, _ := serve(t, tt.cfg, "10.0.0.1:5000", hdr, "")
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, tt.remote, s.remoteAddr)
			assert.Equal(t, tt.host, s.host)
			assert.Equal(t, tt.scheme, s.scheme)
			assert.Equal(t, map[string][]string{"Forwarded": tt.left}, proxyHeaders(s.header),
				"X-Forwarded-For is not trusted alongside Forwarded and must be gone")
		})
	}
}

func TestUntrustedPeer(t *testing.T) {
	hdr := map[string][]string{
		"Forwarded": {"for=1.2.3.4;proto=https"}, "X-Forwarded-For": {"1.2.3.4"}, "X-Forwarded-Host": {"evil.example"},
		"X-Forwarded-Proto": {"https"}, "X-Forwarded-Port": {"1"}, "X-Forwarded-By": {"me"},
	}
	tests := []struct {
		name string
		cfg  Config
		peer string
		want map[string][]string
		log  string
	}{
		{"no trusted proxy: everything cleared", Config{}, "192.0.2.1:1234", nil, ""},
		{"other address", Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}}, "10.0.0.2:1234", nil, ""},
		{"outside the prefix", Config{TrustedProxies: []string{"10.0.0.0/24"}, TrustedHeaders: []string{"x-forwarded-for"}}, "10.0.1.1:1234", nil, ""},
		{"IPv6 peer, IPv4 trust", Config{TrustedProxies: []string{"127.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}}, "[::1]:1234", nil, ""},
		{"unix trust, TCP peer", Config{TrustedProxies: []string{"unix"}, TrustedHeaders: []string{"x-forwarded-for"}}, "127.0.0.1:1234", nil, ""},
		{"unparsable peer", Config{TrustedProxies: []string{"10.0.0.1"}, TrustedHeaders: []string{"x-forwarded-for"}}, "", nil, ""},
		{"kept when asked", Config{KeepUntrustedHeaders: true}, "192.0.2.1:1234", hdr, ""},
		{
			"logged once when asked", Config{LogUntrustedHeaders: true}, "192.0.2.1:1234", nil,
			"Forwarded, X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Port, X-Forwarded-By",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rec, logs := serve(t, tt.cfg, tt.peer, hdr, "")
			require.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tt.peer, s.remoteAddr)
			assert.Equal(t, "example.com", s.host)
			assert.Equal(t, "http", s.scheme)
			assert.Equal(t, tt.want, proxyHeaders(s.header))
			if tt.log != "" {
				assert.Equal(t, 1, strings.Count(logs, "\n"), logs)
				assert.Contains(t, logs, tt.log)
			} else {
				assert.Empty(t, logs)
			}
		})
	}
}

func TestUnixPeer(t *testing.T) {
	var got string
	h, err := Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }),
		Config{TrustedProxies: []string{"unix"}, TrustedHeaders: []string{"x-forwarded-for"}})
	require.NoError(t, err)
	for _, local := range []net.Addr{
		&net.UnixAddr{Name: "/run/app.sock", Net: "unix"},
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "@"
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
		r.Header.Set("X-Forwarded-For", "192.0.2.8")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if local.Network() == "unix" {
			assert.Equal(t, "192.0.2.8:0", got)
		} else {
			assert.Equal(t, "@", got, "a peer that is not on a Unix socket is not trusted by \"unix\"")
		}
	}
}

func TestMalformed(t *testing.T) {
	x := Config{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}}
	fwd := Config{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"forwarded"}}
	tests := []struct {
		name   string
		cfg    Config
		hdr    map[string][]string
		header string // named in the body
		reason string
	}{
		{"X-Forwarded-For not an IP", x, xff("example.com"), "X-Forwarded-For", "client is not an IP address"},
		{"X-Forwarded-For bad IPv6", x, xff("[2001:db8::1"), "X-Forwarded-For", "client is not an IP address"},
		{"X-Forwarded-For bad port", x, xff("192.0.2.1:99999"), "X-Forwarded-For", "client is not an IP address"},
		{"X-Forwarded-For bad quote", x, xff(`"foo`), "X-Forwarded-For", "invalid quoting"},
		{"X-Forwarded-Proto bogus", x, map[string][]string{"X-Forwarded-Proto": {"http://p02n3e.com?url=http"}}, "X-Forwarded-Proto", "neither http nor https"},
		{"X-Forwarded-Proto twice", x, map[string][]string{"X-Forwarded-Proto": {"http, https"}}, "X-Forwarded-Proto", "more than one value"},
		{"X-Forwarded-Proto two lines", x, map[string][]string{"X-Forwarded-Proto": {"http", "https"}}, "X-Forwarded-Proto", "more than one value"},
		{"X-Forwarded-Port twice", x, map[string][]string{"X-Forwarded-Port": {"443, 80"}}, "X-Forwarded-Port", "more than one value"},
		{"X-Forwarded-Port not a number", x, map[string][]string{"X-Forwarded-Port": {"https"}}, "X-Forwarded-Port", "not a port number"},
		{"X-Forwarded-Port zero", x, map[string][]string{"X-Forwarded-Port": {"0"}}, "X-Forwarded-Port", "not a port number"},
		{"X-Forwarded-Host bad quote", x, map[string][]string{"X-Forwarded-Host": {`"foo`}}, "X-Forwarded-Host", "invalid quoting"},
		{"X-Forwarded-Host bad chars", x, map[string][]string{"X-Forwarded-Host": {"exa mple.com"}}, "X-Forwarded-Host", "invalid host"},
		{"X-Forwarded-Host bad port", x, map[string][]string{"X-Forwarded-Host": {"example.com:http"}}, "X-Forwarded-Host", "invalid host"},
		{"Forwarded no equals", fwd, map[string][]string{"Forwarded": {"For"}}, "Forwarded", `parameter without "="`},
		{"Forwarded space before equals", fwd, map[string][]string{"Forwarded": {"For=198.51.100.2; proto =https"}}, "Forwarded", `parameter without "="`},
		{"Forwarded space after equals", fwd, map[string][]string{"Forwarded": {`For= "198.51.100.2"`}}, "Forwarded", "empty value"},
		{"Forwarded unterminated quote", fwd, map[string][]string{"Forwarded": {`for="192.0.2.1`}}, "Forwarded", "unterminated quoted string"},
		{"Forwarded repeated parameter", fwd, map[string][]string{"Forwarded": {`for=192.0.2.1;for=192.0.2.2`}}, "Forwarded", "repeated"},
		{"Forwarded bad proto", fwd, map[string][]string{"Forwarded": {`for=192.0.2.1;proto=gopher`}}, "Forwarded", "proto= is neither http nor https"},
		{"Forwarded bad for", fwd, map[string][]string{"Forwarded": {`for=localhost`}}, "Forwarded", "client is not an IP address"},
		{"Forwarded bad host", fwd, map[string][]string{"Forwarded": {`for=192.0.2.1;host="a b"`}}, "Forwarded", "invalid host"},
		{"Forwarded junk after value", fwd, map[string][]string{"Forwarded": {`for="192.0.2.1"x`}}, "Forwarded", `expected ";" or ","`},
		{"Forwarded syntax error in an untrusted element", fwd, map[string][]string{"Forwarded": {`for="1.2.3.4, for=192.0.2.1`}}, "Forwarded", "unterminated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.hdr["X-Forwarded-By"] = []string{"kept"}
			s, rec, logs := serve(t, tt.cfg, "10.0.0.1:5000", tt.hdr, "")
			assert.False(t, s.called, "the handler must not run")
			require.Equal(t, http.StatusBadRequest, rec.Code)
			body := rec.Body.String()
			assert.Equal(t, "400 Bad Request: malformed "+tt.header+" header: ", body[:len("400 Bad Request: malformed "+tt.header+" header: ")])
			assert.Contains(t, body, tt.reason)
			assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, 1, strings.Count(logs, "\n"), "one log record: %s", logs)
			assert.Contains(t, logs, "peer=10.0.0.1:5000")
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"forwarded with x-forwarded", Config{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"forwarded", "x-forwarded-for"}}, "mutually exclusive"},
		{"unknown header", Config{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"x-real-ip"}}, "unknown trusted proxy header"},
		{"headers without proxy", Config{TrustedHeaders: []string{"x-forwarded-for"}}, "without a trusted proxy"},
		{"count without proxy", Config{TrustedCount: 2}, "without a trusted proxy"},
		{"proxy without headers", Config{TrustedProxies: []string{"10.0.0.1"}}, "need trusted proxy headers"},
		{"negative count", Config{TrustedProxies: []string{"*"}, TrustedHeaders: []string{"forwarded"}, TrustedCount: -1}, "negative"},
		{"hostname", Config{TrustedProxies: []string{"localhost"}, TrustedHeaders: []string{"forwarded"}}, "not an IP address"},
		{"bad prefix", Config{TrustedProxies: []string{"10.0.0.0/33"}, TrustedHeaders: []string{"forwarded"}}, "10.0.0.0/33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Handler(http.NotFoundHandler(), tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
	_, err := Handler(http.NotFoundHandler(), Config{
		TrustedProxies: []string{" 10.0.0.1 ", "[::1]", "fd00::/8", "::ffff:10.0.0.0/104", "unix", "*"},
		TrustedHeaders: []string{"X-Forwarded-For", " x-forwarded-proto"},
	})
	require.NoError(t, err, "names are case-insensitive and entries may carry spaces and brackets")
}

func TestTrustedPrefixes(t *testing.T) {
	ts, err := parseTrusted([]string{"10.0.0.0/8", "::ffff:192.168.0.0/112", "2001:db8::/32", "fe80::1"})
	require.NoError(t, err)
	for peer, want := range map[string]bool{
		"10.1.2.3:80":            true,
		"11.0.0.1:80":            false,
		"192.168.7.7:80":         true,
		"[::ffff:192.168.1.1]:1": true,
		"192.169.0.1:80":         false,
		"[2001:db8::42]:443":     true,
		"[2001:db9::42]:443":     false,
		"[fe80::1%eth0]:1":       true,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		assert.Equal(t, want, ts.trusts(r), peer)
	}
}
