package adapter

// Tests that run real server processes (internal/testserver) and signal
// them: what adapter.Serve promises in docs/operations.md.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	loadgen "github.com/carhop/carhop/bench/load"
	"github.com/carhop/carhop/internal/proctest"
)

func skipShortProcess(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts server processes")
	}
}

// TestGracefulRestartUnderLoad restarts a loaded server five times with
// SIGHUP and counts: no request fails or is reset, every response is
// complete, requests are answered by every generation of processes, and
// each old process exits 0 after draining.
func TestGracefulRestartUnderLoad(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "carhop.pid")
	first := proctest.Start(t, exec.Command(bin, "-restart", "-pidfile", pidFile, "-grace", "10s",
		"-listen", "127.0.0.1:0,unix:"+filepath.Join(dir, "s.sock"), "-loops", "2"))
	addr := first.Addrs(first.Cmd.Process.Pid)[0]
	require.Eventually(t, func() bool { return proctest.ReadPID(pidFile) == first.Cmd.Process.Pid },
		10*time.Second, 10*time.Millisecond, "the first process writes the PID file once ready")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var wg sync.WaitGroup
	var result loadgen.Result
	var loadErr error
	wg.Go(func() {
		result, loadErr = loadgen.Run(ctx, loadgen.Config{Addr: addr, Duration: time.Minute,
			Concurrency: 4, KeepAlive: true, Timeout: 10 * time.Second})
	})
	// Clients with a new connection per request, which read each
	// response whole, to see who answered and what went wrong if
	// anything did.
	var mu sync.Mutex
	answered := map[string]int{}
	var failures []string
	noPort := 0 // dials this machine could not make: no request was sent
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				pid, err := helloOnce(addr)
				mu.Lock()
				switch {
				case errors.Is(err, syscall.EADDRNOTAVAIL):
					// The shared test machine ran out of ephemeral
					// ports (TIME_WAIT from everyone's load): a
					// client-side failure before any byte was sent.
					noPort++
					mu.Unlock()
					time.Sleep(10 * time.Millisecond)
					continue
				case err != nil:
					failures = append(failures, time.Now().UTC().Format("15:04:05.000000")+" "+err.Error())
				default:
					answered[pid]++
				}
				mu.Unlock()
			}
		})
	}

	pids := []int{first.Cmd.Process.Pid}
	for i := range 5 {
		time.Sleep(300 * time.Millisecond) // load on this generation
		old := pids[len(pids)-1]
		require.NoError(t, syscall.Kill(old, syscall.SIGHUP))
		var next int
		require.Eventually(t, func() bool {
			next = proctest.ReadPID(pidFile)
			return next != 0 && next != old
		}, 30*time.Second, 10*time.Millisecond, "restart %d: a new process becomes ready", i+1)
		pids = append(pids, next)
		status, err := proctest.WaitExit(old, 30*time.Second)
		require.NoError(t, err, "restart %d: the old process %d exits", i+1, old)
		assert.Equal(t, 0, status, "restart %d: the old process drained and exited 0", i+1)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	wg.Wait()

	require.ErrorIs(t, loadErr, context.Canceled)
	assert.Positive(t, result.Requests)
	assert.Zero(t, result.Errors, "keep-alive load: no failed, reset or truncated request")
	assert.Zero(t, result.Non2xx, "keep-alive load: no refusal")
	total := 0
	for _, n := range answered {
		total += n
	}
	t.Logf("keep-alive load: %d requests, %d errors; connection per request: %d requests, %d errors (%d dials without a free local port)",
		result.Requests, result.Errors, total, len(failures), noPort)
	assert.Empty(t, failures, "connection per request: no failed, reset or truncated request")
	for _, pid := range pids {
		assert.Positive(t, answered[fmt.Sprint(pid)], "process %d answered requests (answers: %v)", pid, answered)
	}

	last := pids[len(pids)-1]
	require.NoError(t, syscall.Kill(last, syscall.SIGTERM))
	status, err := proctest.WaitExit(last, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, status)
	assert.Equal(t, 6, first.Count(`msg="carhop: drained, exiting"`), "six processes drained")
	assert.Zero(t, first.Count("level=ERROR"), "no errors logged")
	_, err = os.Stat(pidFile)
	assert.ErrorIs(t, err, os.ErrNotExist, "the last process removes the PID file")
	_, err = os.Stat(filepath.Join(dir, "s.sock"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the last process removes its unix socket")
}

// TestTermDeliversSlowResponse: SIGTERM while a response is being written
// lets it finish in full, and the process exits 0.
func TestTermDeliversSlowResponse(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	p := proctest.Start(t, exec.Command(bin, "-grace", "20s"))
	addr := p.Addrs(p.Cmd.Process.Pid)[0]

	resp, err := http.Get("http://" + addr + "/slow?ms=1500")
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "line 1 of 10"), line)

	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	rest, err := io.ReadAll(br)
	require.NoError(t, err, "the response is not cut")
	lines := strings.Split(strings.TrimSpace(line+string(rest)), "\n")
	require.Len(t, lines, 10)
	assert.True(t, strings.HasPrefix(lines[9], "line 10 of 10"))

	status, err := proctest.WaitExit(p.Cmd.Process.Pid, 30*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, status)
}

// TestTermWithRestartRefusesNewClients: with graceful restart on, the
// last process's SIGTERM closes every copy of its sockets (tableflip kept
// one for the next process): a client that connects during the drain is
// refused at once, where it was queued, unanswered, until the process
// exited and reset it.
func TestTermWithRestartRefusesNewClients(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	p := proctest.Start(t, exec.Command(bin, "-restart", "-grace", "60s"))
	addr := p.Addrs(p.Cmd.Process.Pid)[0]

	resp, err := http.Get("http://" + addr + "/block") // holds the drain open
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return p.Count("carhop: shutting down") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	}, 10*time.Second, 20*time.Millisecond, "connecting is refused while the drain waits for /block")

	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM)) // the second: stop now
	status, err := proctest.WaitExit(p.Cmd.Process.Pid, 15*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, status)
}

// TestGracePeriodEnforced: a handler that outlives the grace period is
// cut off; the process exits 1 soon after the grace period.
func TestGracePeriodEnforced(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	p := proctest.Start(t, exec.Command(bin, "-grace", "1s"))
	addr := p.Addrs(p.Cmd.Process.Pid)[0]

	resp, err := http.Get("http://" + addr + "/block")
	require.NoError(t, err)
	defer resp.Body.Close()
	signalled := time.Now()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	_, err = io.ReadAll(resp.Body)
	assert.Error(t, err, "the blocked response is cut off, not completed")

	status, err := proctest.WaitExit(p.Cmd.Process.Pid, 15*time.Second)
	took := time.Since(signalled)
	require.NoError(t, err, "exits within the grace period and a margin")
	assert.Equal(t, 1, status, "Serve returned the expired grace period as an error")
	assert.GreaterOrEqual(t, took, 900*time.Millisecond, "the grace period was given")
	assert.Equal(t, 1, p.Count("context deadline exceeded"))
}

// TestSecondSignalForcesExit: during a drain, a second SIGTERM closes what
// is left at once.
func TestSecondSignalForcesExit(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	p := proctest.Start(t, exec.Command(bin, "-grace", "60s"))
	addr := p.Addrs(p.Cmd.Process.Pid)[0]

	resp, err := http.Get("http://" + addr + "/block")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return p.Count("carhop: shutting down") == 1 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Cmd.Process.Signal(syscall.SIGTERM))
	status, err := proctest.WaitExit(p.Cmd.Process.Pid, 15*time.Second)
	require.NoError(t, err, "does not wait for the 60 s grace period")
	assert.Equal(t, 1, status)
	assert.Equal(t, 1, p.Count("context canceled"))
}

// TestSystemdSocketActivation passes a listening socket as descriptor 3
// with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES set as systemd sets them
// (LISTEN_PID must be the server's own PID: a shell sets it to its $$ and
// execs the server, which keeps the PID, as systemd does after its fork).
func TestSystemdSocketActivation(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	for _, tc := range []struct {
		name, listen string
		restart      bool
	}{
		{"default listen picks up systemd sockets", "", false},
		{"by name", "systemd:web", false},
		{"passed on by a graceful restart", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			f, err := ln.(*net.TCPListener).File()
			require.NoError(t, err)
			addr := ln.Addr().String()
			require.NoError(t, ln.Close()) // f keeps the socket; only the server accepts
			pidFile := filepath.Join(t.TempDir(), "pid")
			cmd := exec.Command("/bin/sh", "-c",
				`export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=web; exec "$0" "$@"`, bin, "-listen", tc.listen,
				fmt.Sprintf("-restart=%v", tc.restart), "-pidfile", pidFile)
			cmd.ExtraFiles = []*os.File{f} // descriptor 3
			p := proctest.Start(t, cmd)
			require.NoError(t, f.Close())
			assert.Equal(t, []string{addr}, p.Addrs(p.Cmd.Process.Pid))

			resp, err := http.Get("http://" + addr + "/")
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			assert.Equal(t, fmt.Sprintf("hello from %d\n", p.Cmd.Process.Pid), string(body))

			last := p.Cmd.Process.Pid
			if tc.restart {
				require.NoError(t, p.Cmd.Process.Signal(syscall.SIGHUP))
				status, err := proctest.WaitExit(last, 15*time.Second)
				require.NoError(t, err)
				assert.Equal(t, 0, status, "the first process drained and exited")
				last = proctest.ReadPID(pidFile)
				require.NotEqual(t, p.Cmd.Process.Pid, last)
				assert.Equal(t, []string{addr}, p.Addrs(last), "the successor serves the systemd socket")
				resp, err := http.Get("http://" + addr + "/")
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				assert.Equal(t, fmt.Sprintf("hello from %d\n", last), string(body))
			}
			require.NoError(t, syscall.Kill(last, syscall.SIGTERM))
			status, err := proctest.WaitExit(last, 15*time.Second)
			require.NoError(t, err)
			assert.Equal(t, 0, status)
		})
	}
}

// TestSystemdNotify: under a unit of Type=notify (NOTIFY_SOCKET set),
// Serve says READY=1 with its PID once it serves, RELOADING=1 when a
// graceful restart begins, and its successor READY=1 with its own PID
// before the first drains; STOPPING=1 when a signal stops the last one.
func TestSystemdNotify(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	dir := t.TempDir()
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"})
	require.NoError(t, err)
	defer sock.Close()
	next := func(what string) string {
		t.Helper()
		require.NoError(t, sock.SetReadDeadline(time.Now().Add(20*time.Second)))
		buf := make([]byte, 4096)
		n, err := sock.Read(buf)
		require.NoError(t, err, "waiting for %s", what)
		return string(buf[:n])
	}

	pidFile := filepath.Join(dir, "pid")
	cmd := exec.Command(bin, "-restart", "-pidfile", pidFile)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+filepath.Join(dir, "notify"))
	first := proctest.Start(t, cmd)
	pid := first.Cmd.Process.Pid
	assert.Equal(t, fmt.Sprintf("READY=1\nMAINPID=%d", pid), next("ready"))

	require.NoError(t, syscall.Kill(pid, syscall.SIGHUP))
	assert.Regexp(t, `^RELOADING=1\nMONOTONIC_USEC=[1-9][0-9]*$`, next("reloading"))
	ready := next("the successor ready")
	status, err := proctest.WaitExit(pid, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, status, "the first process drained and exited")
	successor := proctest.ReadPID(pidFile)
	require.NotEqual(t, pid, successor)
	assert.Equal(t, fmt.Sprintf("READY=1\nMAINPID=%d", successor), ready, "the successor takes over as main process")

	require.NoError(t, syscall.Kill(successor, syscall.SIGTERM))
	assert.Equal(t, "STOPPING=1", next("stopping"))
	status, err = proctest.WaitExit(successor, 20*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 0, status)
}

// TestReusePortProcesses: with WithReusePort, two processes listen on one
// port and the kernel gives connections to both; without it, the second
// cannot bind.
func TestReusePortProcesses(t *testing.T) {
	skipShortProcess(t)
	bin := proctest.Build(t)
	a := proctest.Start(t, exec.Command(bin, "-reuseport", "-listen", "127.0.0.1:0"))
	addr := a.Addrs(a.Cmd.Process.Pid)[0]
	b := proctest.Start(t, exec.Command(bin, "-reuseport", "-listen", addr))
	b.Addrs(b.Cmd.Process.Pid)

	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	seen := map[string]int{}
	for range 200 {
		resp, err := c.Get("http://" + addr + "/")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		seen[string(body)]++
	}
	assert.Len(t, seen, 2, "both processes answered: %v", seen)

	without := proctest.Start(t, exec.Command(bin, "-listen", addr))
	status, err := proctest.WaitExit(without.Cmd.Process.Pid, 15*time.Second)
	require.NoError(t, err)
	assert.Equal(t, 1, status, "without SO_REUSEPORT the port is taken")
	assert.Positive(t, without.Count("address already in use"))
}

// helloOnce sends GET / on a new connection, reads the response to its
// end and returns the PID that answered "hello from PID".
func helloOnce(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"); err != nil {
		return "", fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "", fmt.Errorf("read head %s: %w", c.LocalAddr(), err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	pid, ok := strings.CutPrefix(string(body), "hello from ")
	if resp.StatusCode != http.StatusOK || !ok || !resp.Close {
		return "", fmt.Errorf("unexpected response %d %q close=%v", resp.StatusCode, body, resp.Close)
	}
	return strings.TrimSpace(pid), nil
}
