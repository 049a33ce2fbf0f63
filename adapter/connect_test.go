package adapter

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A forward proxy is an ordinary net/http handler: it answers CONNECT by
// dialing r.Host and hijacking the client's connection. The two ways
// such handlers open the tunnel must both work.

// tunnelAfterHead writes the 200 with WriteHeader and then hijacks, as
// the many proxies written after the net/http idiom do: the head must go
// out before the handover.
func tunnelAfterHead(w http.ResponseWriter, r *http.Request) {
	up, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	splice(c, brw, up)
}

// tunnelHijackFirst hijacks and writes its own status line, as goproxy
// does.
func tunnelHijackFirst(w http.ResponseWriter, r *http.Request) {
	c, brw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	up, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n")
		_ = c.Close()
		return
	}
	_, _ = io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
	splice(c, brw, up)
}

// splice copies both ways until either side ends, then closes both. What
// the client sent before the tunnel opened is in brw.
func splice(c net.Conn, brw io.Reader, up net.Conn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, brw)
		_ = up.Close()
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}()
	wg.Wait()
}

func TestConnectTunnel(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "secret over "+r.Proto)
	}))
	defer origin.Close()
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"WriteHeader then Hijack", tunnelAfterHead},
		{"Hijack then a status line of its own", tunnelHijackFirst},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, addr := start(t, tt.handler)
			tr := &http.Transport{
				Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: addr}),
				TLSClientConfig: &tls.Config{RootCAs: origin.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs},
			}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			for range 3 { // one tunnel, reused
				resp, err := c.Get(origin.URL)
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, "secret over HTTP/1.1", string(body))
			}
		})
	}
}

// TestConnectRequest checks the request a CONNECT handler sees, as
// net/http builds it: the authority in r.Host and r.URL.Host, nothing else
// in the URL, and what the client sent before the tunnel opened readable
// after Hijack, also when the CONNECT is the client's last request.
func TestConnectRequest(t *testing.T) {
	type seen struct {
		host, uri, url, early string
		urlHost               string
	}
	for _, tt := range []struct{ name, head string }{
		{"HTTP/1.1", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"},
		{"HTTP/1.1, the last request", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "CONNECT example.com:443 HTTP/1.0\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan seen, 1)
			_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				c, brw, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				defer c.Close()
				early := make([]byte, 5)
				_, _ = io.ReadFull(brw, early)
				got <- seen{host: r.Host, uri: r.RequestURI, url: r.URL.String(), urlHost: r.URL.Host, early: string(early)}
				_, _ = io.WriteString(c, "tunnel")
			}))
			c := dial(t, addr)
			// The client does not wait for the 200: the tunnel's first
			// bytes arrive with the head (a TLS client hello, say).
			c.send(tt.head + "hello")
			resp, err := http.ReadResponse(c.r, &http.Request{Method: http.MethodConnect})
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Transfer-Encoding"), "a 2xx to CONNECT is not framed (RFC 9110 §9.3.6)")
			assert.Empty(t, resp.Header.Get("Content-Length"))
			rest, err := io.ReadAll(c.r)
			require.NoError(t, err)
			assert.Equal(t, "tunnel", string(rest))
			select {
			case s := <-got:
				assert.Equal(t, seen{host: "example.com:443", uri: "example.com:443", url: "//example.com:443",
					urlHost: "example.com:443", early: "hello"}, s)
			case <-time.After(10 * time.Second):
				t.Fatal("handler did not run")
			}
		})
	}
}

// TestConnectNotTunnelled: a CONNECT a handler answers without taking the
// connection. A refusal (non-2xx) leaves the connection to HTTP, so a
// client can retry on it with credentials; an acceptance without a
// Hijack ends it, since the client has stopped speaking HTTP and a proxy
// in front would pass what follows on unchecked.
func TestConnectNotTunnelled(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
	for _, tt := range []struct {
		name     string
		status   int
		body     string
		wantNext bool
	}{
		{"refused, the connection stays HTTP", http.StatusProxyAuthRequired, "auth first", true},
		{"accepted without Hijack, the connection ends", http.StatusOK, "no tunnel here", false},
		{"accepted with no content, the connection ends", http.StatusNoContent, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ran := make(chan string, 2)
			_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran <- r.Method + " " + r.RequestURI
				if r.Method != http.MethodConnect {
					_, _ = io.WriteString(w, "next")
					return
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(tt.body))) // never a 2xx's to send
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			c := dial(t, addr)
			c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + next)
			if tt.wantNext {
				resp, body := c.response(http.MethodConnect)
				assert.Equal(t, tt.status, resp.StatusCode)
				assert.Equal(t, tt.body, body)
				resp, body = c.response(http.MethodGet)
				assert.Equal(t, http.StatusOK, resp.StatusCode)
				assert.Equal(t, "next", body)
				assert.Equal(t, []string{"CONNECT example.com:443", "GET /next"}, []string{<-ran, <-ran})
				return
			}
			resp, err := http.ReadResponse(c.r, &http.Request{Method: http.MethodConnect})
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("Content-Length"))
			assert.Empty(t, resp.Header.Get("Transfer-Encoding"))
			rest, err := io.ReadAll(c.r) // to the server's close
			require.NoError(t, err)
			assert.Equal(t, tt.body, string(rest))
			assert.Equal(t, "CONNECT example.com:443", <-ran)
			assert.Empty(t, ran, "nothing after an accepted CONNECT is served")
		})
	}
}

// TestHijackSendsWrittenHead: as with net/http, a status and header the
// handler wrote before Hijack go out first; body bytes it wrote without
// flushing do not.
func TestHijackSendsWrittenHead(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Before", "yes")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "unflushed")
		c, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, "raw")
	}))
	c := dial(t, addr)
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	all, err := io.ReadAll(c.r)
	require.NoError(t, err)
	head, rest, ok := strings.Cut(string(all), "\r\n\r\n")
	require.True(t, ok, "%q", all)
	assert.Regexp(t, `^HTTP/1.1 202 Accepted\r\n`, head)
	assert.Contains(t, head, "\r\nX-Before: yes")
	assert.NotContains(t, head, "Transfer-Encoding")
	assert.NotContains(t, head, "Content-Length")
	assert.Equal(t, "raw", rest)
}
