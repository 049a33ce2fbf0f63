package adapter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/accesslog"
	"github.com/carhop/carhop/internal/syncbuf"
	"github.com/carhop/carhop/proxy"
)

// whoami answers with what the handler was told about the client.
func whoami(w http.ResponseWriter, r *http.Request) {
	_, _ = fmt.Fprintf(w, "remote=%s host=%s scheme=%s path=%s prefix=%s xff=%q xfh=%q",
		r.RemoteAddr, r.Host, proxy.Scheme(r), r.URL.Path, proxy.URLPrefix(r),
		r.Header.Values("X-Forwarded-For"), r.Header.Values("X-Forwarded-Host"))
}

func TestProxyHeadersOverTheWire(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(whoami),
		WithTrustedProxy("127.0.0.1"),
		WithTrustedProxyHeaders("x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"))
	c := dial(t, addr)

	// A client behind the proxy made up 6.6.6.6; the proxy appended the
	// address it saw.
	c.send("GET /a HTTP/1.1\r\nHost: backend:8080\r\nX-Forwarded-For: 6.6.6.6, 203.0.113.7\r\n" +
		"X-Forwarded-Proto: https\r\nX-Forwarded-Host: www.example.com\r\nX-Forwarded-Port: 1\r\n\r\n")
	resp, body := c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, `remote=203.0.113.7:0 host=www.example.com scheme=https path=/a prefix= xff=["203.0.113.7"] xfh=["www.example.com"]`, body,
		"only the hop the proxy appended is believed, and X-Forwarded-Port (not trusted) is gone")

	// A malformed trusted header is refused; the connection stays usable.
	c.send("GET /b HTTP/1.1\r\nHost: backend\r\nX-Forwarded-For: not-an-ip\r\n\r\n")
	resp, body = c.response(http.MethodGet)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "400 Bad Request: malformed X-Forwarded-For header: client is not an IP address\n", body)
	assert.False(t, resp.Close)

	c.send("GET /c HTTP/1.1\r\nHost: backend\r\n\r\n")
	resp, body = c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `^remote=127\.0\.0\.1:\d+ host=backend scheme=http path=/c `, body)
}

func TestProxyUntrustedPeerOverTheWire(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(whoami),
		WithTrustedProxy("10.0.0.0/8"), WithTrustedProxyHeaders("x-forwarded-for", "x-forwarded-host"))
	c := dial(t, addr)
	c.send("GET /a HTTP/1.1\r\nHost: backend\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Host: evil.example\r\nForwarded: for=1.2.3.4\r\n\r\n")
	resp, body := c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Regexp(t, `^remote=127\.0\.0\.1:\d+ host=backend scheme=http path=/a prefix= xff=\[\] xfh=\[\]$`, body)
}

func TestClearWithoutTrustedProxy(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		xff  string
	}{
		{"default passes headers through", nil, `["6.6.6.6"]`},
		{"clearing asked for", []Option{WithClearUntrustedProxyHeaders(true)}, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := start(t, http.HandlerFunc(whoami), tt.opts...)
			c := dial(t, addr)
			c.send("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n")
			_, body := c.response(http.MethodGet)
			assert.Contains(t, body, "xff="+tt.xff)
		})
	}
}

func TestProxyOverUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "carhop.sock")
	s, err := New(http.HandlerFunc(whoami), WithListen("unix:"+sock), WithThreads(2), WithEventLoops(1),
		WithLogger(slog.New(slog.DiscardHandler)),
		WithTrustedProxy("unix"), WithTrustedProxyHeaders("forwarded"))
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Shutdown(ctx))
		require.ErrorIs(t, <-served, http.ErrServerClosed)
	}()
	conn, err := net.DialTimeout("unix", sock, 5*time.Second)
	require.NoError(t, err)
	c := &raw{t: t, c: conn, r: bufioReader(conn)}
	defer func() { _ = conn.Close() }()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	c.send("GET / HTTP/1.1\r\nHost: h\r\nForwarded: for=\"[2001:db8::9]:1234\";proto=https\r\n\r\n")
	resp, body := c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "remote=[2001:db8::9]:1234 host=h scheme=https")
}

func TestURLPrefixOverTheWire(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(whoami), WithURLPrefix("app/"))
	cl := client(t)
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, tt := range []struct {
		target string
		status int
		want   string
	}{
		{"/app/x/y", http.StatusOK, "path=/x/y prefix=/app "},
		{"/app/", http.StatusOK, "path=/ prefix=/app "},
		{"/app?q=1", http.StatusMovedPermanently, ""},
		{"/elsewhere", http.StatusNotFound, ""},
	} {
		resp, err := cl.Get("http://" + addr + tt.target)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tt.status, resp.StatusCode, tt.target)
		assert.Contains(t, string(body), tt.want, tt.target)
		if tt.status == http.StatusMovedPermanently {
			assert.Equal(t, "/app/?q=1", resp.Header.Get("Location"))
		}
	}
}

func TestAccessLogBehindProxy(t *testing.T) {
	var logs syncbuf.Buffer
	_, addr := start(t, http.HandlerFunc(hello),
		WithTrustedProxy("127.0.0.1"), WithTrustedProxyHeaders("x-forwarded-for"),
		WithURLPrefix("/app"), WithAccessLog(&logs, accesslog.Combined))
	c := dial(t, addr)
	c.send("GET /app/world HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.7\r\nUser-Agent: t/1\r\n\r\n")
	resp, body := c.response(http.MethodGet)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "Hello, world!", body)
	c.send("GET /app/x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: ::zz\r\n\r\n")
	resp, _ = c.response(http.MethodGet)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	c.send("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, _ = c.response(http.MethodGet)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	require.Eventually(t, func() bool { return strings.Count(logs.String(), "\n") == 3 }, 10*time.Second, 5*time.Millisecond)
	lines := strings.Split(strings.TrimSuffix(logs.String(), "\n"), "\n")
	ts := regexp.MustCompile(`\[[^]]+\]`)
	for i := range lines {
		lines[i] = ts.ReplaceAllString(lines[i], "[T]")
	}
	assert.Equal(t, `203.0.113.7 - - [T] "GET /app/world HTTP/1.1" 200 13 "-" "t/1"`, lines[0],
		"the client's address from the trusted proxy, the target as sent")
	assert.Equal(t, `127.0.0.1 - - [T] "GET /app/x HTTP/1.1" 400 79 "-" "-"`, lines[1], "refused requests are logged too")
	assert.Equal(t, `127.0.0.1 - - [T] "GET /nope HTTP/1.1" 404 19 "-" "-"`, lines[2])
}

func TestAccessLoggerOption(t *testing.T) {
	var logs syncbuf.Buffer
	_, addr := start(t, http.HandlerFunc(hello), WithAccessLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	resp, err := client(t).Get("http://" + addr + "/you")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "\n") }, 10*time.Second, 5*time.Millisecond)
	assert.Regexp(t, `msg=request remote=127\.0\.0\.1:\d+ method=GET target=/you proto=HTTP/1\.1 status=200 bytes=11 `, logs.String())
}

func TestProxyOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		err  string
	}{
		{"proxy without headers", []Option{WithTrustedProxy("10.0.0.1")}, "need trusted proxy headers"},
		{"headers without proxy", []Option{WithTrustedProxyHeaders("forwarded")}, "without a trusted proxy"},
		{"count without proxy", []Option{WithTrustedProxyCount(2)}, "without a trusted proxy"},
		{"both kinds", []Option{WithTrustedProxy("*"), WithTrustedProxyHeaders("forwarded", "x-forwarded-proto")}, "mutually exclusive"},
		{"unknown header", []Option{WithTrustedProxy("*"), WithTrustedProxyHeaders("x-real-ip")}, "unknown trusted proxy header"},
		{"bad address", []Option{WithTrustedProxy("proxy.internal"), WithTrustedProxyHeaders("forwarded")}, "not an IP address"},
		{"no address", []Option{WithTrustedProxy()}, "at least one"},
		{"zero count", []Option{WithTrustedProxyCount(0)}, "must be positive"},
		{"bad prefix", []Option{WithURLPrefix("/a/../b")}, "not a clean path"},
		{"nil access log", []Option{WithAccessLog(nil, accesslog.Common)}, "nil writer"},
		{"bad format", []Option{WithAccessLog(io.Discard, accesslog.Format(42))}, "unknown format"},
		{"nil access logger", []Option{WithAccessLogger(nil)}, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(http.NotFoundHandler(), tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

// BenchmarkServeBehindProxy is BenchmarkServe with the proxy middleware
// and the access log on, against the same server without them, in one run
// (`benchstat -col /opts`): what they add to a whole request.
func BenchmarkServeBehindProxy(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "Hello, World!")
	})
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench/1\r\n" +
		"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\n\r\n")
	proxied := []Option{WithTrustedProxy("127.0.0.1"), WithTrustedProxyHeaders("x-forwarded-for", "x-forwarded-proto")}
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"none", nil},
		{"proxy", proxied},
		{"accesslog=combined", []Option{WithAccessLog(io.Discard, accesslog.Combined)}},
		{"proxy+accesslog=combined", append(proxied[:2:2], WithAccessLog(io.Discard, accesslog.Combined))},
		{"proxy+accesslog=json", append(proxied[:2:2], WithAccessLog(io.Discard, accesslog.JSON))},
	} {
		b.Run("opts="+c.name, func(b *testing.B) {
			opts := append([]Option{WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler))}, c.opts...)
			s, err := New(h, opts...)
			if err != nil {
				b.Fatal(err)
			}
			go func() { _ = s.Serve() }()
			<-s.Ready()
			defer func() { _ = s.Close() }()
			conn, err := net.Dial("tcp", s.Addrs()[0].String())
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			r := bufioReader(conn)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := conn.Write(req); err != nil {
					b.Fatal(err)
				}
				if err := readResponse(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Behind an NGINX on the same host that sets X-Forwarded-For and
// X-Forwarded-Proto, serving the application under /app.
func ExampleWithTrustedProxy() {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprintln(w, r.RemoteAddr, proxy.Scheme(r), proxy.URLPrefix(r), r.URL.Path)
	})
	srv, err := New(app,
		WithListen("127.0.0.1:0"),
		WithTrustedProxy("127.0.0.1"),
		WithTrustedProxyHeaders("x-forwarded-for", "x-forwarded-proto"),
		WithURLPrefix("/app"),
	)
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	<-srv.Ready()

	// What NGINX sends for a client at 203.0.113.7 that asked for
	// https://www.example.com/app/hello.
	c, err := net.Dial("tcp", srv.Addrs()[0].String())
	if err != nil {
		panic(err)
	}
	_, _ = io.WriteString(c, "GET /app/hello HTTP/1.1\r\nHost: www.example.com\r\n"+
		"X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufioReader(c), nil)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	_ = c.Close()
	fmt.Print(string(body))

	_ = srv.Shutdown(context.Background())
	fmt.Println(<-done)
	// Output:
	// 203.0.113.7:0 https /app /hello
	// http: Server closed
}
