package listen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultUnixPerms is the mode of the Unix sockets carhop creates:
// Waitress's unix_socket_perms default, owner only.
const DefaultUnixPerms fs.FileMode = 0o600

// Config says how sockets are created.
type Config struct {
	// ReusePort sets SO_REUSEPORT on TCP sockets, so that several
	// processes can listen on one port and the kernel spreads connections
	// over them.
	ReusePort bool
	// UnixPerms is the mode of created Unix sockets; 0 means
	// DefaultUnixPerms. Connecting needs write permission.
	UnixPerms fs.FileMode
}

// Open opens what spec names: a new TCP or Unix socket, the inherited
// descriptor, or the systemd sockets (one spec may give several).
func (c Config) Open(spec Spec) ([]net.Listener, error) {
	var ln net.Listener
	var err error
	switch spec.Kind {
	case TCP:
		ln, err = c.ListenTCP(spec.Network, spec.Address)
	case Unix:
		ln, err = c.ListenUnix(spec.Address)
	case FD:
		ln, err = FileListener(spec.FD)
	case Systemd:
		return SystemdListeners(spec.Address)
	default:
		err = fmt.Errorf("listen: unknown spec kind %v", spec.Kind)
	}
	if err != nil {
		return nil, err
	}
	return []net.Listener{ln}, nil
}

// ListenTCP listens on a TCP address; network "tcp6" makes the socket
// IPv6-only.
func (c Config) ListenTCP(network, addr string) (net.Listener, error) {
	lc := net.ListenConfig{}
	if c.ReusePort {
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}); err != nil {
				return err
			}
			return os.NewSyscallError("setsockopt SO_REUSEPORT", serr)
		}
	}
	ln, err := lc.Listen(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// ListenUnix creates a Unix domain socket at path with mode c.UnixPerms.
// A socket file left behind by a process that is gone (connecting to it
// is refused) is removed first; a socket someone still accepts on, or a
// file that is not a socket, is an error, never deleted. The socket file
// is removed when the listener is closed. "@name" is a Linux abstract
// socket: no file, no permissions.
func (c Config) ListenUnix(path string) (net.Listener, error) {
	abstract := path[0] == '@'
	if !abstract {
		if err := removeStale(path); err != nil {
			return nil, err
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if abstract {
		return ln, nil
	}
	perms := c.UnixPerms
	if perms == 0 {
		perms = DefaultUnixPerms
	}
	// Between bind and chmod the socket has the umask's mode; with the
	// usual umask (022) that grants no one else write permission, which
	// connecting needs, so the window opens nothing.
	if err := os.Chmod(path, perms); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen: unix socket permissions: %w", err)
	}
	return ln, nil
}

// removeStale removes a socket file nobody listens on any more.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen: %s exists and is not a socket; not removing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("listen: %s: another process is listening on this socket", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen: checking whether %s is stale: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen: removing stale socket: %w", err)
	}
	return nil
}

// RemoveSocketFile removes path if it is a socket file; anything else, and
// abstract sockets ("@name"), are left alone.
func RemoveSocketFile(path string) {
	if path == "" || path[0] == '@' {
		return
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSocket {
		_ = os.Remove(path)
	}
}

// FileListener adopts the listening socket open as descriptor fd, as a
// parent process or a supervisor left it. The descriptor is checked to be
// a listening stream socket, then taken over: the listener holds a
// duplicate (close-on-exec) and fd itself is closed.
func FileListener(fd int) (net.Listener, error) {
	if fd < 3 {
		return nil, fmt.Errorf("listen: fd:%d is a standard stream, not an inherited socket", fd)
	}
	if err := isListeningSocket(fd); err != nil {
		return nil, fmt.Errorf("listen: fd:%d: %w", fd, err)
	}
	f := os.NewFile(uintptr(fd), "fd:"+fmt.Sprint(fd))
	ln, err := net.FileListener(f)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("listen: fd:%d: %w", fd, err)
	}
	return ln, nil
}

// isListeningSocket checks fd without wrapping it in an os.File, whose
// finalizer would close a descriptor that is not ours to close.
func isListeningSocket(fd int) error {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("not a socket: %w", err)
	}
	if typ != unix.SOCK_STREAM {
		return errors.New("not a stream socket")
	}
	on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return fmt.Errorf("cannot tell whether it listens: %w", err)
	}
	if on == 0 {
		return errors.New("a socket, but not listening")
	}
	return nil
}
