// Package queued gives tests a TCP listener on 127.0.0.1 whose Accept
// takes nothing until the listener is closed: every client stays in the
// kernel's queue, where only a drain's sweep of the queue, or another
// holder of the socket, finds it. It owns nothing else.
package queued

import (
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Listener is a listening socket that accepts nothing itself. Its
// embedded TCPListener gives the server under test the socket
// (SyscallConn) and the address.
type Listener struct {
	*net.TCPListener
	closed chan struct{}
	once   sync.Once
}

// Listen opens a Listener on a port of its own, closed when the test
// ends.
func Listen(t testing.TB) *Listener {
	t.Helper()
	tl, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	l := &Listener{TCPListener: tl, closed: make(chan struct{})}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// Accept waits for Close, and returns net.ErrClosed.
func (l *Listener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

// Close closes the socket and ends a waiting Accept.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.TCPListener.Close()
}
