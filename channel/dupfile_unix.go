//go:build unix

package channel

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dupFile duplicates f's descriptor, close-on-exec (a graceful restart
// forks), through Control, which leaves f's mode alone.
func dupFile(f syscall.Conn) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var dupErr error
	if err := rc.Control(func(s uintptr) { fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if dupErr != nil {
		return nil, dupErr
	}
	return os.NewFile(uintptr(fd), "carhop-response-file"), nil
}
