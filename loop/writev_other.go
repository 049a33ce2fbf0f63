//go:build !linux && !darwin

package loop

import "golang.org/x/sys/unix"

// writev2 writes a and then b to fd. golang.org/x/sys/unix has no Writev
// here, so it takes two system calls, the second only if the socket took
// all of a.
func writev2(fd int, a, b []byte) (int, error) {
	n, err := unix.Write(fd, a)
	if err != nil || n < len(a) {
		return n, err
	}
	m, err := unix.Write(fd, b)
	if m < 0 {
		m = 0
	}
	return n + m, err
}
