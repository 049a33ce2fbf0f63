package loop

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/internal/tcppair"
)

// TestBacklogged: a socket is backlogged while what it holds for a client
// that does not read fills most of its send buffer, and no longer once
// the client has read it.
func TestBacklogged(t *testing.T) {
	client, server := tcppair.New(t)
	rc, err := server.SyscallConn()
	require.NoError(t, err)
	check := func() (b bool) {
		require.NoError(t, rc.Control(func(fd uintptr) { b = backlogged(int(fd)) }))
		return b
	}
	assert.False(t, check(), "an empty socket")

	// Fill the socket, without blocking, until it takes nothing more.
	chunk, sent := make([]byte, 64<<10), 0
	for range 10000 {
		var n int
		var werr error
		require.NoError(t, rc.Control(func(fd uintptr) { n, werr = unix.Write(int(fd), chunk) }))
		if werr != nil {
			require.ErrorIs(t, werr, unix.EAGAIN)
			break
		}
		sent += n
	}
	require.Positive(t, sent)
	assert.True(t, check(), "a socket full of %d bytes for a client that reads nothing", sent)

	require.NoError(t, client.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadFull(client, make([]byte, sent))
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for check() {
		require.True(t, time.Now().Before(deadline), "still backlogged once the client has read everything")
		time.Sleep(time.Millisecond)
	}
}
