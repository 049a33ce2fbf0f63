//go:build unix

package load

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the server has closed or reset c, by reading
// (and discarding) whatever is pending without blocking: end of stream or
// an error means closed, "would block" means open.
func peerClosed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var buf [512]byte
	_ = rc.Control(func(fd uintptr) {
		for range 64 {
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN):
				return
			case err != nil || n == 0:
				closed = true
				return
			}
		}
	})
	return closed
}
