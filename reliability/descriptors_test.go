package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/adapter"
	"github.com/carhop/carhop/internal/syncbuf"
)

// nofileEnv makes the test binary a server whose descriptor limit is its
// value: a file server of the directory named by nofileDirEnv
// (TestDescriptorLimitDoesNotStopServer's child), or, with no directory,
// holdingStreams (TestStreamsHoldingDescriptorsDoNotStopServer's).
const (
	nofileEnv    = "CARHOP_RELIABILITY_NOFILE_SERVER"
	nofileDirEnv = "CARHOP_RELIABILITY_NOFILE_DIR"
)

// holdingStreams answers /stream with an event stream that holds a
// descriptor of its own for as long as its client stays, as a proxied
// websocket holds its backend connection; anything else with "ok".
var holdingStreams = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/stream" {
		_, _ = io.WriteString(w, "ok")
		return
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer f.Close()
	_, _ = io.WriteString(w, "data: hello\n\n")
	w.(http.Flusher).Flush()
	<-r.Context().Done()
})

func runNoFileChild(nofile int, dir string) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	lim.Cur = uint64(nofile)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	var h http.Handler = holdingStreams
	if dir != "" {
		h = http.FileServer(http.Dir(dir))
	}
	s, err := adapter.New(h, adapter.WithListen("127.0.0.1:0"),
		adapter.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		panic(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	<-s.Ready()
	fmt.Println(s.Addrs()[0].String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	if err := <-served; err != http.ErrServerClosed { //nolint:errorlint // Serve returns it bare
		fmt.Println("serve:", err)
		os.Exit(1)
	}
}

// TestDescriptorLimitDoesNotStopServer: gnet stops its whole engine when
// an accept fails for want of a descriptor, so carhop must never let
// slow clients' files take the descriptors its accepts need. A server
// whose process may open 256 descriptors, with the default connection
// limit (lowered to fit, with a warning), is given as many connections
// as it admits, each asking for a large file three times over and
// reading nothing, which would hold well over 256 descriptors had every
// file been queued (the files' budget keeps them to 32, and the rest wait
// in memory); connections past the limit get their 503; and once the
// clients are gone it serves again. Before the budget, the engine
// stopped, and the process with it.
func TestDescriptorLimitDoesNotStopServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server in a child process")
	}
	const nofile = 256
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.bin"), bytes.Repeat([]byte("x"), 4<<20), 0o600))

	var stderr syncbuf.Buffer
	srv, limit := startNoFileChild(t, &stderr, nofile, dir)
	addr := srv.addr
	conns := fillWith(t, srv, &stderr, limit, strings.Repeat("GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n", 3))
	t.Logf("server holds %d descriptors with %d connections", openDescriptors(t, srv.cmd.Process.Pid), limit)

	var wg sync.WaitGroup
	answers := make([]string, 32)
	for i := range answers {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				answers[i] = err.Error()
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			answers[i] = string(b)
		})
	}
	wg.Wait()
	for i, a := range answers {
		assert.True(t, strings.HasPrefix(a, "HTTP/1.1 503 "), "connection %d over the limit got %q", i, a)
	}

	for _, c := range conns {
		_ = c.Close()
	}
	var status int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if status = rangeStatus(addr); status == http.StatusPartialContent {
			break
		}
	}
	srv.alive(t, &stderr)
	assert.Equal(t, http.StatusPartialContent, status, "a request once the clients have gone")
	assert.Equal(t, 1, strings.Count(stderr.String(), "connection limit lowered"), "%s", &stderr)
}

// TestStreamsHoldingDescriptorsDoNotStopServer: handlers that stream or
// hijack leave the worker pool, so the threads no longer bound how many
// run at once, nor the descriptors they hold (a proxied websocket's
// backend connection). Each counts against the descriptor budget, as a
// temporary file does, and once that is spent the next keeps its worker,
// so that the handlers cannot take the descriptors accepting needs. A
// server whose process may open 1,024 descriptors is given as many
// streams as it admits connections (736), each holding a descriptor of
// its own: had each left the pool, they would have held over 1,400 with
// their connections. It stays up, serves the streams it can, and serves
// again once they are gone. Before the budget counted them, the engine
// stopped (EMFILE on accept), and the process with it.
func TestStreamsHoldingDescriptorsDoNotStopServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a server in a child process")
	}
	const nofile = 1024
	var stderr syncbuf.Buffer
	srv, limit := startNoFileChild(t, &stderr, nofile, "")
	conns := fillWith(t, srv, &stderr, limit, "GET /stream HTTP/1.1\r\nHost: h\r\n\r\n")

	// Served: those that left the pool, as many as the budget allows, and
	// as many more as there are workers for them to keep.
	warned := stderr.String()
	require.Equal(t, 1, strings.Count(warned, "descriptor budget spent"), "%s", warned)
	budget, threads := loggedInt(t, warned, "file_limit"), loggedInt(t, warned, "threads")
	deadline := time.Now().Add(time.Second)
	streaming := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(deadline)
		if b, _ := io.ReadAll(io.LimitReader(c, 1)); len(b) > 0 {
			streaming++
		}
	}
	t.Logf("%d of %d streams served, server holds %d descriptors", streaming, limit, openDescriptors(t, srv.cmd.Process.Pid))
	assert.Equal(t, budget+threads, streaming)

	for _, c := range conns {
		_ = c.Close()
	}
	var answer string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if answer = okBody(srv.addr); answer == "ok" {
			break
		}
	}
	srv.alive(t, &stderr)
	assert.Equal(t, "ok", answer, "a request once the clients have gone")
}

// startNoFileChild starts the nofile child and returns it with the
// connection limit it applies, read from its warning.
func startNoFileChild(t *testing.T, stderr *syncbuf.Buffer, nofile int, dir string) (*child, int) {
	t.Helper()
	srv := startChild(t, stderr, nofileEnv+"="+strconv.Itoa(nofile), nofileDirEnv+"="+dir)
	// The warning precedes the address the child prints, but on another
	// pipe, which the copying goroutine may not have emptied yet.
	require.Eventually(t, func() bool { return strings.Contains(stderr.String(), "connection limit lowered") },
		10*time.Second, 5*time.Millisecond, "no warning: %s", stderr)
	warned := stderr.String()
	limit := loggedInt(t, warned, "lowered_to")
	require.Less(t, limit, nofile)
	return srv, limit
}

// loggedInt is the value of the first attribute key in the text log.
func loggedInt(t *testing.T, log, key string) int {
	t.Helper()
	_, after, ok := strings.Cut(log, " "+key+"=")
	require.True(t, ok, "no %s in %s", key, log)
	n, err := strconv.Atoi(strings.Fields(after)[0])
	require.NoError(t, err, "%s in %s", key, log)
	return n
}

// fillWith opens n connections to srv, sends req on each, and waits
// until the server has taken what it will: its descriptors stop growing.
// It fails the test if the server stops.
func fillWith(t *testing.T, srv *child, stderr *syncbuf.Buffer, n int, req string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range n {
		c, err := net.DialTimeout("tcp", srv.addr, 5*time.Second)
		if err != nil {
			time.Sleep(100 * time.Millisecond) // long enough to have exited, if it is exiting
			srv.alive(t, stderr)
		}
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = io.WriteString(c, req)
		require.NoError(t, err)
	}
	held, deadline := 0, time.Now().Add(10*time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		srv.alive(t, stderr)
		n := openDescriptors(t, srv.cmd.Process.Pid)
		if n == held {
			break
		}
		held = n
	}
	return conns
}

// okBody sends GET / on a new connection and returns the body, or "".
func okBody(addr string) string {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// rangeStatus asks for the first bytes of big.bin on a new connection and
// returns the status, or 0.
func rangeStatus(addr string) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/big.bin", nil)
	if err != nil {
		return 0
	}
	req.Header.Set("Range", "bytes=0-9")
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// openDescriptors counts the descriptors process pid has open.
func openDescriptors(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(entries)
}
