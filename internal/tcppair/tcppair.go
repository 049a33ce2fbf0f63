// Package tcppair connects two ends of a TCP connection on 127.0.0.1 for
// tests that need a real socket: the server end to hand to the code under
// test, the client end to drive it. It owns nothing else.
package tcppair

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// New returns both ends of a fresh loopback TCP connection, closed when
// the test ends.
func New(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = ln.Close() }()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}
