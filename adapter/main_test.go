package adapter

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

// start serves h on 127.0.0.1 and an ephemeral port until the test ends,
// then shuts down and checks that Serve returned as it should.
func start(t *testing.T, h http.Handler, opts ...Option) (*Server, string) {
	t.Helper()
	opts = append([]Option{WithListen("127.0.0.1:0"), WithThreads(4), WithEventLoops(1),
		WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := New(h, opts...)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	addrs := s.Addrs()
	require.Len(t, addrs, 1)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		select {
		case err := <-served:
			require.ErrorIs(t, err, http.ErrServerClosed)
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return s, addrs[0].String()
}

// client is an http.Client whose connections are closed with the test.
func client(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// raw is a plain TCP client for what http.Client will not send.
type raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	_, err := io.WriteString(r.c, s)
	require.NoError(r.t, err)
}

// response reads one response to a request with the given method.
func (r *raw) response(method string) (*http.Response, string) {
	r.t.Helper()
	resp, err := http.ReadResponse(r.r, &http.Request{Method: method})
	require.NoError(r.t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(r.t, err)
	require.NoError(r.t, resp.Body.Close())
	return resp, string(body)
}

// closed reports whether the server closed the connection: the next read
// ends in EOF (or a reset) rather than data or a timeout.
func (r *raw) closed() bool {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := r.r.ReadByte()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

func hello(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "Hello, "+strings.TrimPrefix(r.URL.Path, "/")+"!")
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

// hashBody answers with the length and SHA-256 of the request body.
func hashBody(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	n, err := io.Copy(h, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
}
