package loop

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/tcppair"
)

// TestInputPending: a socket has input pending while the client's bytes
// wait in it, looking does not take them, and an end of input is none.
func TestInputPending(t *testing.T) {
	client, server := tcppair.New(t)
	rc, err := server.SyscallConn()
	require.NoError(t, err)
	pending := func() (p bool) {
		require.NoError(t, rc.Control(func(fd uintptr) { p = inputPending(int(fd)) }))
		return p
	}
	assert.False(t, pending(), "nothing sent")

	_, err = client.Write([]byte("GET / HTTP/1.1\r\n"))
	require.NoError(t, err)
	require.Eventually(t, pending, 5*time.Second, time.Millisecond, "the bytes arrive")
	assert.True(t, pending(), "looking took nothing")
	buf := make([]byte, 16)
	require.NoError(t, server.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadFull(server, buf)
	require.NoError(t, err)
	assert.Equal(t, "GET / HTTP/1.1\r\n", string(buf), "every byte still there to read")
	assert.False(t, pending(), "all read")

	require.NoError(t, client.CloseWrite())
	_, err = server.Read(buf)
	require.ErrorIs(t, err, io.EOF, "the end of input arrived")
	assert.False(t, pending(), "an end of input is no input")
}
