//go:build unix

package load

import "syscall"

// slowReadControl sets the slow readers' socket options before connect:
// the receive buffer then also decides the window scale the SYN
// announces, and the MSS the server will use (see slowReadMSS).
func slowReadControl(rcvBuf, mss int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, rc syscall.RawConn) error {
		var err error
		if cerr := rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf)
			if err == nil && mss > 0 {
				err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, mss)
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}
}
