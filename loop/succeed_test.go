package loop

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/internal/queued"
)

// TestDrainLeavesTheQueueToASuccessor: once another process holds the
// listening socket (a graceful restart's successor), a drain closes its
// own copy without taking what is queued on it; the successor accepts
// the client, bytes and all.
func TestDrainLeavesTheQueueToASuccessor(t *testing.T) {
	ln := queued.Listen(t)
	f, err := ln.File() // the successor's copy
	require.NoError(t, err)
	successor, err := net.FileListener(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	defer successor.Close()
	s, ran := runServer(t, Config{Adopt: func() ([]net.Listener, error) { return []net.Listener{ln}, nil }})

	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET / HTTP/1.1\r\n"))
	require.NoError(t, err)

	s.Succeeded()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, s.Drain(ctx), "nothing to wait for")
	assert.Zero(t, s.Accepted(), "the queue was left alone")

	require.NoError(t, successor.(*net.TCPListener).SetDeadline(time.Now().Add(5*time.Second)))
	sc, err := successor.Accept()
	require.NoError(t, err, "the successor finds the client queued")
	defer sc.Close()
	require.NoError(t, sc.SetReadDeadline(time.Now().Add(5*time.Second)))
	buf := make([]byte, 16)
	_, err = io.ReadFull(sc, buf)
	require.NoError(t, err)
	assert.Equal(t, "GET / HTTP/1.1\r\n", string(buf))

	require.NoError(t, s.Stop(context.Background()))
	require.NoError(t, <-ran)
}
