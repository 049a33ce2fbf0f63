package loop

import "golang.org/x/sys/unix"

// backlogged reports whether the socket fd still holds more than about
// half of what its send buffer takes, unsent or unacknowledged: a file
// pump then leaves it alone until the client has taken more. Sending a
// slow reader the few kilobytes it freed since the last poll costs a
// sendfile (which reads a pipe's worth of the file to give it those) per
// poll; waiting until half the buffer is free sends the same bytes in
// far fewer, larger calls, as a writer woken by EPOLLOUT would. The send
// buffer's size counts the kernel's overhead too, about as much again as
// the bytes, hence a quarter of it.
func backlogged(fd int) bool {
	queued, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		return false
	}
	size, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
	return err == nil && queued > size/4
}
