package adapter

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveOpts starts a server with exactly opts (no default listen) and
// shuts it down when the test ends.
func serveOpts(t *testing.T, h http.Handler, opts ...Option) *Server {
	t.Helper()
	opts = append([]Option{WithThreads(4), WithEventLoops(2), WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := New(h, opts...)
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		select {
		case err := <-served:
			assert.ErrorIs(t, err, http.ErrServerClosed)
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after Shutdown")
		}
	})
	return s
}

func localAddrEcho(w http.ResponseWriter, r *http.Request) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	_, _ = io.WriteString(w, local.Network()+" "+local.String())
}

func get(t *testing.T, network, addr string) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("http://carhop/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp, string(body)
}

// TestMixedListeners serves one handler on an address gnet binds, a Unix
// socket, and two listeners the application made, all at once.
func TestMixedListeners(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	given1, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	given2, err := net.Listen("unix", filepath.Join(dir, "given.sock"))
	require.NoError(t, err)
	s := serveOpts(t, http.HandlerFunc(localAddrEcho),
		WithListener(given1), WithListen("127.0.0.1:0", "unix:"+sock), WithListener(given2),
		WithUnixSocketPerms(0o660))

	addrs := s.Addrs()
	require.Len(t, addrs, 4)
	assert.Equal(t, "tcp", addrs[0].Network(), "WithListen's addresses first, in order")
	assert.Equal(t, sock, addrs[1].String())
	assert.Equal(t, given1.Addr().String(), addrs[2].String(), "then WithListener's, in order")
	assert.Equal(t, given2.Addr().String(), addrs[3].String())

	for _, a := range addrs {
		resp, body := get(t, a.Network(), a.String())
		assert.Equal(t, 200, resp.StatusCode)
		assert.Equal(t, a.Network()+" "+a.String(), body, "the handler sees the address the client reached")
	}
	fi, err := os.Stat(sock)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o660), fi.Mode().Perm())

	require.NoError(t, s.Shutdown(context.Background()))
	_, err = net.DialTimeout("tcp", given1.Addr().String(), time.Second)
	assert.Error(t, err, "Shutdown closed the given listener")
	_, err = os.Stat(sock)
	assert.ErrorIs(t, err, fs.ErrNotExist, "and removed the unix socket it made")
}

// TestAdoptedListenerLimitsAndDrain: a listener given with WithListener
// gets the connection limit, the drain and a fresh connection's grace
// like gnet's own.
func TestAdoptedListenerLimitsAndDrain(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	s := serveOpts(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			entered <- struct{}{}
			<-release
		}
		_, _ = io.WriteString(w, "done "+r.URL.Path)
	}), WithListener(ln), WithConnectionLimit(2))
	addr := s.Addrs()[0].String()

	busy := dial(t, addr)
	busy.send("GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	quiet := dial(t, addr) // connected, nothing sent yet
	full := dial(t, addr)
	resp, _ := full.response("GET")
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "past the connection limit")

	shutdown := make(chan error, 1)
	go func() { shutdown <- s.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, 5*time.Second, 10*time.Millisecond, "the drain closes the adopted listener")

	quiet.send("GET /late HTTP/1.1\r\nHost: h\r\n\r\n")
	resp, body := quiet.response("GET")
	assert.Equal(t, "done /late", body, "a connection that had sent nothing still gets its request served")
	assert.True(t, resp.Close, "with Connection: close")

	close(release)
	resp, body = busy.response("GET")
	assert.Equal(t, "done /wait", body, "the running request finishes")
	assert.True(t, resp.Close, "%v", resp.Header)
	require.NoError(t, <-shutdown)
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"bad address", []Option{WithListen("localhost")}, "missing port"},
		{"not a socket", []Option{WithListen("unix:" + file)}, "not a socket"},
		{"bad fd", []Option{WithListen("fd:1")}, "standard stream"},
		{"no systemd", []Option{WithListen("systemd")}, "systemd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(http.NotFoundHandler(), append(tc.opts, WithLogger(slog.New(slog.DiscardHandler)))...)
			if err == nil {
				err = s.Serve()
				assert.NotErrorIs(t, err, http.ErrServerClosed)
				require.NoError(t, s.Close(), "Close after a failed Serve returns")
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := New(http.NotFoundHandler(), WithUnixSocketPerms(0o1777))
	assert.Error(t, err)
	_, err = New(http.NotFoundHandler(), WithListener(nil))
	assert.Error(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	s, err := New(http.NotFoundHandler(), WithListener(ln), WithGracefulRestart(true))
	require.NoError(t, err)
	err = s.Run()
	assert.ErrorContains(t, err, "cannot pass WithListener", "refused before any tableflip state is made")
	assert.True(t, strings.Contains(err.Error(), "WithListen"))
}

// TestCloseAdopted: Close stops at once for adopted listeners too: the
// listener is closed and a running handler sees its context cancelled.
func TestCloseAdopted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	entered := make(chan struct{})
	ended := make(chan error, 1)
	s, err := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			ended <- r.Context().Err()
		case <-time.After(15 * time.Second):
			ended <- nil
		}
	}), WithListener(ln), WithThreads(2), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	<-s.Ready()
	c := dial(t, ln.Addr().String())
	c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-ended, context.Canceled)
	assert.ErrorIs(t, <-served, http.ErrServerClosed)
	_, err = net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	assert.Error(t, err, "Close closed the listener")
}

// TestIPv4AndIPv6 listens on the same port over IPv4 and IPv6 at once.
func TestIPv4AndIPv6(t *testing.T) {
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	require.NoError(t, probe.Close())
	s := serveOpts(t, http.HandlerFunc(localAddrEcho),
		WithListen(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), net.JoinHostPort("::1", strconv.Itoa(port))))
	require.Len(t, s.Addrs(), 2)
	for _, a := range s.Addrs() {
		_, body := get(t, "tcp", a.String())
		assert.Equal(t, "tcp "+a.String(), body)
	}
}
