package loop

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// addrConn is a gnet.Conn that reports a local address and a descriptor,
// all that Server.site asks of one.
type addrConn struct {
	gnet.Conn
	local net.Addr
	fd    int
}

func (c addrConn) LocalAddr() net.Addr { return c.local }
func (c addrConn) Fd() int             { return c.fd }

// listenerFD is the descriptor of a listener bound to address on network,
// for getsockname to report, or -1 if the machine cannot bind it.
func listenerFD(t testing.TB, network, address string) (int, net.Addr) {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		return -1, nil
	}
	t.Cleanup(func() { _ = ln.Close() })
	raw, err := ln.(interface {
		SyscallConn() (syscall.RawConn, error)
	}).SyscallConn()
	require.NoError(t, err)
	fd := -1
	require.NoError(t, raw.Control(func(d uintptr) { fd = int(d) }))
	return fd, ln.Addr()
}

// TestSiteIsTheAddressReached: a channel's Site names the address its
// client reached, asking the kernel when gnet reports only the
// listener's wildcard, and is one per address, carrying the server's
// channel configuration.
func TestSiteIsTheAddressReached(t *testing.T) {
	s := New(Config{})
	v4, v4Addr := listenerFD(t, "tcp4", "127.0.0.1:0")
	require.NotEqual(t, -1, v4)
	v6, v6Addr := listenerFD(t, "tcp6", "[::1]:0")
	sock, sockAddr := listenerFD(t, "unix", filepath.Join(t.TempDir(), "s.sock"))
	require.NotEqual(t, -1, sock)
	specific := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	gnetUnix := &net.UnixAddr{Name: "", Net: "unix"}

	tests := []struct {
		name string
		conn addrConn
		want net.Addr // nil: no address known
		skip bool
	}{
		{"a specific address is taken as gnet reports it", addrConn{local: specific, fd: -1}, specific, false},
		{"a wildcard IPv4 listener asks the kernel", addrConn{local: &net.TCPAddr{IP: net.IPv4zero}, fd: v4}, v4Addr, false},
		{"a wildcard IPv6 listener asks the kernel", addrConn{local: &net.TCPAddr{IP: net.IPv6unspecified}, fd: v6}, v6Addr, v6 == -1},
		{"a Unix socket's path comes from the kernel", addrConn{local: gnetUnix, fd: sock}, sockAddr, false},
		{"when the kernel will not say, gnet's report stands", addrConn{local: gnetUnix, fd: -1}, gnetUnix, false},
		{"no address at all", addrConn{fd: -1}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("no IPv6 loopback here")
			}
			site := s.site(tt.conn)
			if tt.want == nil {
				assert.Nil(t, site.Local)
			} else {
				require.NotNil(t, site.Local)
				assert.Equal(t, tt.want.Network(), site.Local.Network())
				assert.Equal(t, tt.want.String(), site.Local.String())
			}
			assert.Same(t, site, s.site(tt.conn), "a second connection to the address shares its Site")
			assert.Equal(t, s.ch.MaxPipelined, site.MaxPipelined)
			assert.Same(t, s.ch.Counters, site.Counters, "every Site counts into the server's counters")
		})
	}
	assert.NotSame(t, s.site(addrConn{local: specific, fd: -1}), s.site(addrConn{fd: v4}),
		"different addresses have Sites of their own")
}

// BenchmarkSite is the cost of site per accepted connection once its
// address is known: none but a scan of the table for a specific
// address, and getsockname for a wildcard listener's.
func BenchmarkSite(b *testing.B) {
	fd, _ := listenerFD(b, "tcp4", "127.0.0.1:0")
	require.NotEqual(b, -1, fd)
	for _, bc := range []struct {
		name string
		conn *addrConn // a pointer, so that passing it as a gnet.Conn allocates nothing
	}{
		{"specific", &addrConn{local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, fd: -1}},
		{"wildcard", &addrConn{local: &net.TCPAddr{IP: net.IPv4zero}, fd: fd}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(Config{})
			b.ReportAllocs()
			for b.Loop() {
				s.site(bc.conn)
			}
		})
	}
}
