package adapter

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/procmem"
)

// The memory test runs the server in a child process (this test binary,
// re-executed) so that the server's own peak RSS can be read from /proc.
const childEnv = "CARHOP_TEST_CHILD_SERVER"

func init() {
	if os.Getenv(childEnv) == "" {
		return
	}
	runChildServer()
	os.Exit(0)
}

// runChildServer serves /upload (hashes the body) and /download?n= (streams
// n deterministic bytes) until stdin closes.
func runChildServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("/upload", hashBody)
	mux.HandleFunc("/download", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = io.Copy(w, io.LimitReader(pattern{}, int64(n)))
	})
	s, err := New(mux, WithListen("127.0.0.1:0"), WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	go func() { _ = s.Serve() }()
	<-s.Ready()
	fmt.Println(s.Addrs()[0].String())
	_, _ = io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Shutdown(ctx)
}

// pattern is an endless deterministic byte stream.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + i>>8)
	}
	return len(p), nil
}

func TestLargeTransfersKeepServerMemorySmall(t *testing.T) {
	size := 256 << 20
	if testing.Short() {
		size = 128 << 20 // smaller, still well past what the server may hold: growth is bounded by size/4
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "TMPDIR="+t.TempDir())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
		// Under go test -race a child that saw a data race reports it on
		// its stderr, carries on, and exits with status 66 (GORACE's
		// exitcode).
		if cmd.ProcessState.ExitCode() == 66 {
			t.Errorf("the child server reported a data race (on its stderr, above)")
		}
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	base := "http://" + strings.TrimSpace(addr)
	started, err := procmem.Bytes(cmd.Process.Pid, "VmHWM") // the runtime's (and the race detector's) own
	require.NoError(t, err)
	peakRSS := procmem.Watch(cmd.Process.Pid, 10*time.Millisecond)
	defer peakRSS()
	c := client(t)
	c.Timeout = 5 * time.Minute

	want := sha256.New()
	_, _ = io.Copy(want, io.LimitReader(pattern{}, int64(size)))
	wantSum := hex.EncodeToString(want.Sum(nil))

	resp, err := c.Post(base+"/upload", "application/octet-stream", io.LimitReader(pattern{}, int64(size)))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, fmt.Sprintf("%d %s", size, wantSum), string(body))

	resp, err = c.Get(fmt.Sprintf("%s/download?n=%d", base, size))
	require.NoError(t, err)
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, int64(size), n)
	assert.Equal(t, wantSum, hex.EncodeToString(got.Sum(nil)))

	peak := peakRSS()
	t.Logf("server peak RSS %d MiB (%d MiB at start) for %d MiB each way", peak>>20, started>>20, size>>20)
	assert.Less(t, peak-started, int64(size/4), "server memory grew with the payload")
}
