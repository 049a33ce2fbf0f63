package adapter

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
)

// r.RemoteAddr is formatted per request from the socket's address, into
// the head's allocation: it must read exactly as net.Addr's String.
func TestAppendAddrIsString(t *testing.T) {
	for _, a := range []net.Addr{
		&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234},               // 16-byte form, as the net package makes it
		&net.TCPAddr{IP: net.IP{192, 0, 2, 1}, Port: 80},                   // 4-byte form
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443},            //
		&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 8080, Zone: "eth0"}, // link-local with a zone
		&net.TCPAddr{IP: net.ParseIP("::ffff:10.0.0.1"), Port: 1},          // mapped: net prints it as IPv4
		&net.TCPAddr{IP: net.IPv6unspecified, Port: 0},                     //
		&net.TCPAddr{Port: 9},                             // no IP
		&net.UnixAddr{Name: "/run/app.sock", Net: "unix"}, //
		&net.UnixAddr{Name: "", Net: "unix"},              // an unnamed peer
	} {
		assert.Equal(t, a.String(), string(appendAddr(nil, a)), "%#v", a)
	}
	assert.Empty(t, appendAddr(nil, nil))
}

func TestHeadAndRemoteShareOneAllocation(t *testing.T) {
	head := []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}
	h, r := headAndRemote(head, a)
	assert.Equal(t, string(head), h)
	assert.Equal(t, "192.0.2.1:1234", r)
	assert.Equal(t, 1.0, testing.AllocsPerRun(100, func() { h, r = headAndRemote(head, a) }))
}

// FuzzAppendAddr: any address the kernel can report for a TCP peer reads
// as net.Addr's String would have it.
func FuzzAppendAddr(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, 1234, "")
	f.Add([]byte(net.IPv4(10, 0, 0, 1)), 80, "")
	f.Add([]byte(net.ParseIP("fe80::1")), 8080, "eth0")
	f.Add([]byte(net.ParseIP("::ffff:1.2.3.4")), 65535, "")
	f.Add([]byte{}, 0, "")
	f.Fuzz(func(t *testing.T, ip []byte, port int, zone string) {
		a := &net.TCPAddr{IP: ip, Port: port, Zone: zone}
		if port < 0 || port > 65535 {
			t.Skip("not a port a socket can have")
		}
		assert.Equal(t, a.String(), string(appendAddr(nil, a)))
	})
}
