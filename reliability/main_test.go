package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/internal/leakcheck"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild() // the server of TestLargeTransfersKeepServerRSSBounded
		return
	}
	if v := os.Getenv(nofileEnv); v != "" {
		n, _ := strconv.Atoi(v)
		runNoFileChild(n, os.Getenv(nofileDirEnv))
		return
	}
	if v := os.Getenv(connsEnv); v != "" {
		limit, _ := strconv.Atoi(v)
		runConnsChild(limit)
		return
	}
	code := m.Run()
	// The fuzz target's server lives for the whole process (a fuzz worker
	// runs many inputs); it ends here, before the leak check.
	stopFuzzServer()
	if code == 0 && !fuzzWorker() {
		if err := goleak.Find(leakcheck.Options()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzWorker reports whether this process is a fuzzing worker, which the
// coordinator stops at will: its goroutines are not checked.
func fuzzWorker() bool {
	for _, a := range os.Args {
		if strings.HasPrefix(a, "-test.fuzzworker") {
			return true
		}
	}
	return false
}

// server is a carhop server under test and the address it listens on.
type server struct {
	*adapter.Server
	addr   string
	served chan error
}

// start serves h on 127.0.0.1 and an ephemeral port until the test ends,
// then shuts down and checks that Serve returned.
func start(t testing.TB, h http.Handler, opts ...adapter.Option) *server {
	t.Helper()
	s, err := newServer(h, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.stop(t) })
	return s
}

func newServer(h http.Handler, opts ...adapter.Option) (*server, error) {
	opts = append([]adapter.Option{adapter.WithListen("127.0.0.1:0"), adapter.WithThreads(4),
		adapter.WithEventLoops(1), adapter.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	a, err := adapter.New(h, opts...)
	if err != nil {
		return nil, err
	}
	s := &server{Server: a, served: make(chan error, 1)}
	go func() { s.served <- a.Serve() }()
	select {
	case <-a.Ready():
	case <-time.After(10 * time.Second):
		return nil, errors.New("server did not start")
	}
	addrs := a.Addrs()
	if len(addrs) != 1 {
		_ = a.Close()
		return nil, fmt.Errorf("server listens on %v", addrs)
	}
	s.addr = addrs[0].String()
	return s, nil
}

// stop shuts the server down (idempotent) and waits for Serve to return.
func (s *server) stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
	select {
	case err, ok := <-s.served:
		if ok {
			require.ErrorIs(t, err, http.ErrServerClosed)
			close(s.served)
		}
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return after Shutdown")
	}
}

// dial opens a raw TCP connection with a bounded deadline.
func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(20*time.Second)))
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// readAll reads until the server closes the connection, and fails the test
// if it does not within the deadline.
func readAll(t testing.TB, c net.Conn) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the server closes the connection; got so far %q", b)
	return string(b)
}

// get sends the closing request on a new connection and returns the whole
// exchange: the server must answer and close. The recorder answers it as
// okClose("/last").
func get(t testing.TB, addr string) string {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	_, err := io.WriteString(c, closing)
	require.NoError(t, err)
	return readAll(t, c)
}
