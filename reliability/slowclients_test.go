package reliability

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/adapter"
)

// The attack of issue 6: thousands of slowloris clients dribbling a request
// head, and hundreds of clients reading a large response a few bytes at a
// time. The exact claims: a normal client is served throughout; not one
// worker is held by a slow client (their handlers never start, or finish
// into the output buffer); every slow client is cut off by the documented
// timeouts (408 for a head that takes too long, the channel timeout for a
// client that stops taking its response). The figure, a normal client's
// p99 with and without the attack, is logged, never asserted.
func TestSlowClientsHoldNoWorker(t *testing.T) {
	slowloris, readers := 2000, 500
	if testing.Short() {
		slowloris, readers = 200, 50
	}
	raiseNoFile(t, uint64(2*(slowloris+readers)+1000))

	big := bytes.Repeat([]byte("x"), 256<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			_, _ = w.Write(big)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	// Long enough that every client is connected before the first one
	// is cut off, even under the race detector on a loaded machine.
	const requestTimeout, channelTimeout = 5 * time.Second, 10 * time.Second
	s := start(t, h,
		adapter.WithRequestTimeout(requestTimeout), adapter.WithChannelTimeout(channelTimeout),
		adapter.WithCleanupInterval(100*time.Millisecond),
		adapter.WithOutbufOverflow(64<<10), adapter.WithTempDir(t.TempDir()))

	before := normalLatencies(t, s.addr, 200)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // also when a require fails
	var got408 atomic.Int64
	attack := make(chan struct{}) // every client connects first, then all start at once
	for range slowloris {
		c := dial(t, s.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-attack
			if dribble(ctx, c) {
				got408.Add(1)
			}
		}()
	}
	for range readers {
		c := dialSmallWindow(t, s.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-attack
			if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: h\r\n\r\n"); err == nil {
				readSlowly(ctx, c)
			}
		}()
	}
	close(attack)

	// Every slow client is connected and every slow reader's handler has
	// finished into the output buffer, long before any of them is done.
	var seen adapter.Stats // what the wait saw last, for its failure message
	require.Eventually(t, func() bool {
		seen = s.Stats()
		return seen.Connections == int64(slowloris+readers) && seen.Tasks.Completed >= uint64(len(before)+readers)
	}, requestTimeout, 10*time.Millisecond, "slow clients connected, slow readers' handlers done: want %d connections and %d tasks completed, last saw %+v",
		slowloris+readers, len(before)+readers, &seen)

	during := normalLatencies(t, s.addr, 200)
	// A normal client can read its response before the worker that wrote
	// it has returned from the task: allow that task a moment. A worker
	// held by a slow client stays held.
	assert.Eventually(t, func() bool {
		st := s.Stats()
		return st.Tasks.Running == 0 && st.Tasks.Queued == 0
	}, 2*time.Second, time.Millisecond, "no worker is held by a slow client, no request waits for one")
	st := s.Stats()
	assert.Equal(t, uint64(len(before)+readers+len(during)), st.Requests, "no slowloris request reached a handler")

	// The timeouts cut every slow client off: slowloris with 408, slow
	// readers by the channel timeout once they stop making progress the
	// server can see.
	require.Eventually(t, func() bool { return s.Stats().Connections == 0 },
		channelTimeout+requestTimeout+20*time.Second, 50*time.Millisecond, "every slow client cut off")
	cancel()
	wg.Wait()
	assert.Equal(t, int64(slowloris), got408.Load(), "every slowloris client got 408")
	st = s.Stats()
	assert.Equal(t, uint64(slowloris), st.Refused[408])

	t.Logf("normal client p99 %v without slow clients, %v with %d slowloris and %d slow readers (median %v, %v)",
		percentile(before, 99), percentile(during, 99), slowloris, readers, percentile(before, 50), percentile(during, 50))
}

// dribble sends a request head one byte every 250 ms, never finishing it,
// and reports whether the server answered 408 and closed.
func dribble(ctx context.Context, c *net.TCPConn) bool {
	head := "GET /slow HTTP/1.1\r\nHost: h\r\nX-Padding: " + strings.Repeat("p", 200)
	closed := make(chan bool, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
		b, _ := io.ReadAll(c)
		closed <- bytes.HasPrefix(b, []byte("HTTP/1.1 408 "))
	}()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(head); i++ {
		select {
		case got := <-closed:
			return got
		case <-ctx.Done():
			_ = c.Close()
			return <-closed
		case <-tick.C:
			if _, err := c.Write([]byte{head[i]}); err != nil {
				return <-closed
			}
		}
	}
	return <-closed
}

// dialSmallWindow connects with a 4 KiB receive buffer, so that the kernel
// cannot take a large response off the server's hands for the client.
func dialSmallWindow(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// readSlowly reads 16 bytes every 250 ms until the server closes the
// connection or ctx ends.
func readSlowly(ctx context.Context, c *net.TCPConn) {
	buf := make([]byte, 16)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = c.Close()
			return
		case <-tick.C:
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}
}

// normalLatencies sends n requests one after another on one keep-alive
// connection and returns each one's latency.
func normalLatencies(t *testing.T, addr string, n int) []time.Duration {
	t.Helper()
	c := dial(t, addr)
	defer c.Close()
	r := bufio.NewReader(c)
	lat := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		_, err := io.WriteString(c, "GET /normal HTTP/1.1\r\nHost: h\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(r, nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, "ok", string(body))
		lat = append(lat, time.Since(start))
	}
	return lat
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
