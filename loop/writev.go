//go:build linux || darwin

package loop

import "golang.org/x/sys/unix"

// writev2 writes a and then b to fd in one system call.
func writev2(fd int, a, b []byte) (int, error) { return unix.Writev(fd, [][]byte{a, b}) }
