package listen

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenUnixPermsAndCleanup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	for _, tc := range []struct {
		perms, want fs.FileMode
	}{{0, DefaultUnixPerms}, {0o660, 0o660}, {0o666, 0o666}} {
		ln, err := Config{UnixPerms: tc.perms}.ListenUnix(path)
		require.NoError(t, err)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, fs.ModeSocket, fi.Mode().Type())
		assert.Equal(t, tc.want, fi.Mode().Perm())
		require.NoError(t, ln.Close())
		_, err = os.Stat(path)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Close removes the socket file")
	}
}

func TestListenUnixStaleAndLive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")

	// A socket file whose process is gone: connecting is refused.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	require.NoError(t, err)
	stale.SetUnlinkOnClose(false)
	require.NoError(t, stale.Close())
	ln, err := Config{}.ListenUnix(path)
	require.NoError(t, err, "a stale socket file is replaced")

	// A socket someone accepts on is never taken over.
	_, err = Config{}.ListenUnix(path)
	require.ErrorContains(t, err, "another process is listening")
	require.NoError(t, ln.Close())

	// Nor is a file that is not a socket.
	file := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(file, []byte("keep me"), 0o600))
	_, err = Config{}.ListenUnix(file)
	require.ErrorContains(t, err, "not a socket")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "keep me", string(b))
}

func TestFileListener(t *testing.T) {
	orig, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer orig.Close()
	f, err := orig.(*net.TCPListener).File()
	require.NoError(t, err)
	fd := int(f.Fd())

	ln, err := FileListener(fd)
	require.NoError(t, err)
	assert.Equal(t, orig.Addr().String(), ln.Addr().String())
	_, err = syscall.Getsockname(fd)
	assert.Error(t, err, "the inherited descriptor itself is closed, the listener holds a dup")
	require.NoError(t, ln.Close())

	_, err = FileListener(1)
	assert.ErrorContains(t, err, "standard stream")
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer conn.Close()
	cf, err := conn.(*net.UDPConn).File()
	require.NoError(t, err)
	defer cf.Close()
	_, err = FileListener(int(cf.Fd()))
	assert.ErrorContains(t, err, "not a stream socket")
}

func TestListenTCPReusePort(t *testing.T) {
	a, err := Config{ReusePort: true}.ListenTCP("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer a.Close()
	b, err := Config{ReusePort: true}.ListenTCP("tcp4", a.Addr().String())
	require.NoError(t, err, "SO_REUSEPORT lets a second socket bind the port")
	require.NoError(t, b.Close())
	_, err = Config{}.ListenTCP("tcp4", a.Addr().String())
	assert.Error(t, err, "without it the port is taken")
}

func TestListenTCPIPv6Only(t *testing.T) {
	v4, err := Config{}.ListenTCP("tcp4", "0.0.0.0:0")
	require.NoError(t, err)
	defer v4.Close()
	port := v4.Addr().(*net.TCPAddr).Port
	v6, err := Config{}.ListenTCP("tcp6", net.JoinHostPort("::", itoa(port)))
	if err != nil {
		t.Skipf("no IPv6 here: %v", err)
	}
	require.NoError(t, v6.Close(), "an IPv6-only socket shares the port with an IPv4 one")
}

func TestSystemdNotActivated(t *testing.T) {
	assert.False(t, SystemdActivated(), "no LISTEN_PID for this test process")
	_, err := SystemdListeners("")
	assert.ErrorIs(t, err, ErrNoSystemdSockets)
}

func itoa(n int) string { return strconv.Itoa(n) }
