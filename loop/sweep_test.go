package loop

import (
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSweepQueueTakesWhatIsQueued: the connections the kernel has
// completed but nobody accepted are taken at once, each with the request
// its client sent, and a second sweep finds none (without waiting for
// one: a sweep that blocked would hang the test).
func TestSweepQueueTakesWhatIsQueued(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "s.sock")
			}
			ln, err := net.Listen(network, addr)
			require.NoError(t, err)
			defer ln.Close()
			const n = 3
			for i := range n {
				c, err := net.Dial(network, ln.Addr().String())
				require.NoError(t, err)
				defer c.Close()
				_, err = c.Write([]byte{'a' + byte(i)})
				require.NoError(t, err)
			}

			var got []net.Conn
			sweepQueue(ln, slog.New(slog.DiscardHandler), func(c net.Conn) { got = append(got, c) })
			require.Len(t, got, n, "every queued connection")
			sent := map[string]bool{}
			for _, c := range got {
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				b := make([]byte, 1)
				_, err := io.ReadFull(c, b)
				require.NoError(t, err)
				sent[string(b)] = true
				require.NoError(t, c.Close())
			}
			assert.Equal(t, map[string]bool{"a": true, "b": true, "c": true}, sent, "each with its client's bytes")

			got = nil
			sweepQueue(ln, slog.New(slog.DiscardHandler), func(c net.Conn) { got = append(got, c) })
			assert.Empty(t, got, "nothing left queued")
		})
	}
}

// TestSweepQueueLeavesABlockingSocket: on a listening socket in blocking
// mode an accept with nothing queued would wait for the next client, and
// the drain with it; the sweep leaves such a socket alone.
func TestSweepQueueLeavesABlockingSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	rc, err := ln.(*net.TCPListener).SyscallConn()
	require.NoError(t, err)
	require.NoError(t, rc.Control(func(fd uintptr) { require.NoError(t, unix.SetNonblock(int(fd), false)) }))

	// A queued client: a blocking accept would take it, and wait on.
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	var got []net.Conn
	sweepQueue(ln, slog.New(slog.DiscardHandler), func(c net.Conn) { got = append(got, c) })
	assert.Empty(t, got, "returns at once, with nothing")
}
