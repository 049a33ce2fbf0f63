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

// nofileEnv makes the test binary a file server whose descriptor limit
// is its value, serving the directory named by nofileDirEnv
// (TestDescriptorLimitDoesNotStopServer's child).
const (
	nofileEnv    = "CARHOP_RELIABILITY_NOFILE_SERVER"
	nofileDirEnv = "CARHOP_RELIABILITY_NOFILE_DIR"
)

func runNoFileChild(nofile int, dir string) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	lim.Cur = uint64(nofile)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		panic(err)
	}
	s, err := adapter.New(http.FileServer(http.Dir(dir)), adapter.WithListen("127.0.0.1:0"),
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
	srv := startChild(t, &stderr, nofileEnv+"="+strconv.Itoa(nofile), nofileDirEnv+"="+dir)
	addr := srv.addr
	alive := func() {
		t.Helper()
		select {
		case <-srv.exited:
			t.Fatalf("the server stopped: %s%s", &srv.rest, &stderr)
		default:
		}
	}

	// The connection limit the server applies, from its warning.
	warned := stderr.String()
	require.Contains(t, warned, "connection limit lowered")
	_, after, ok := strings.Cut(warned, "lowered_to=")
	require.True(t, ok, "%s", warned)
	limit, err := strconv.Atoi(strings.Fields(after)[0])
	require.NoError(t, err)
	require.Less(t, limit, nofile)

	var conns []net.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for range limit {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		conns = append(conns, c)
		_, err = io.WriteString(c, strings.Repeat("GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n", 3))
		require.NoError(t, err)
	}
	// Let the server queue what it will: its descriptors stop growing.
	held, deadline := 0, time.Now().Add(10*time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		alive()
		n := openDescriptors(t, srv.cmd.Process.Pid)
		if n == held {
			break
		}
		held = n
	}
	t.Logf("server holds %d descriptors with %d connections", held, limit)

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
	conns = nil
	var status int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if status = rangeStatus(addr); status == http.StatusPartialContent {
			break
		}
	}
	alive()
	assert.Equal(t, http.StatusPartialContent, status, "a request once the clients have gone")
	assert.Equal(t, 1, strings.Count(stderr.String(), "connection limit lowered"), "%s", &stderr)
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
