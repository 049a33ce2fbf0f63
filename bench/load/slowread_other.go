//go:build !unix

package load

import "syscall"

// slowReadControl has no portable way to set socket options here: the
// MSS stays the kernel's, and the clients set their receive buffer once
// connected.
func slowReadControl(int, int) func(network, address string, c syscall.RawConn) error {
	return nil
}
