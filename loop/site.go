package loop

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/carhop/carhop/channel"
)

// site returns the channel.Site of the address c's client reached,
// shared by every connection that reached it: a Channel keeps one pointer
// for the configuration and the address, where an interface value of its
// own would take 16 bytes more per connection. It runs once per accepted
// connection and allocates nothing once the address is known.
func (s *Server) site(c gnet.Conn) *channel.Site {
	// gnet reports the listener's configured address (":0", "0.0.0.0");
	// handlers want the address the client really reached. Only a
	// wildcard or unresolved address needs asking the kernel: a system
	// call per connection (BenchmarkSite/wildcard against /specific).
	a := c.LocalAddr()
	if specific(a) {
		k := siteKey{ip: a.(*net.TCPAddr).AddrPort()}
		return s.sites.get(k, func() net.Addr { return a }, &s.ch)
	}
	// unix.Getsockname would make the address on the heap for every
	// connection; the raw call fills one on the stack.
	fd := c.Fd()
	var rsa unix.RawSockaddrAny
	size := uint32(unix.SizeofSockaddrAny)
	_, _, errno := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd),
		uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&size)))
	if errno == 0 {
		var k siteKey
		switch rsa.Addr.Family {
		case unix.AF_INET:
			p := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
			k.ip = netip.AddrPortFrom(netip.AddrFrom4(p.Addr), port(p.Port))
		case unix.AF_INET6:
			p := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
			k.ip = netip.AddrPortFrom(netip.AddrFrom16(p.Addr), port(p.Port))
		case unix.AF_UNIX:
			return s.sites.getUnix(unixPath(&rsa), func() net.Addr { return kernelAddr(fd, a) }, &s.ch)
		}
		if k.ip.IsValid() {
			return s.sites.get(k, func() net.Addr { return kernelAddr(fd, a) }, &s.ch)
		}
	}
	// The kernel would not say: gnet's report it is, shared by value.
	k := siteKey{unknown: true}
	if a != nil {
		k.name, k.network = a.String(), a.Network()
	}
	return s.sites.get(k, func() net.Addr { return a }, &s.ch)
}

// port reads a sockaddr's port, kept in network byte order.
func port(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// unixPath is a Unix socket's name as unix.Getsockname gives it: up to
// the first NUL, an abstract socket's leading NUL shown as '@'. It points
// into rsa.
func unixPath(rsa *unix.RawSockaddrAny) []byte {
	p := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
	path := unsafe.Slice((*byte)(unsafe.Pointer(&p.Path[0])), len(p.Path))
	if path[0] == 0 {
		path[0] = '@'
	}
	n := 0
	for n < len(path) && path[n] != 0 {
		n++
	}
	return path[:n]
}

// kernelAddr is the address fd's socket is bound to, made once per
// address, or gnet's report if the kernel will not say.
func kernelAddr(fd int, gnetAddr net.Addr) net.Addr {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return gnetAddr
	}
	if a := sockaddr(sa); a != nil {
		return a
	}
	return gnetAddr
}

// specific reports whether a, as gnet reports it for an accepted TCP
// connection, is already the address the client reached: an IP that is
// not a wildcard, and a port. (For Unix sockets gnet does not report the
// path.)
func specific(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.Port != 0 && ta.IP != nil && !ta.IP.IsUnspecified()
}

// siteKey names a local address: an IP address and port, a Unix socket
// path (name), or, for an address the kernel would not report (unknown),
// gnet's string and network for it.
type siteKey struct {
	ip      netip.AddrPort
	name    string
	network string
	unknown bool
}

type siteEntry struct {
	key  siteKey
	site *channel.Site
}

// siteTable holds a server's Sites by local address. There are a handful
// (one per listening address, or per local address behind a wildcard),
// read on every accept and added to on the first connection to an
// address: readers scan a copy-on-write slice, without a lock or an
// allocation, where a sync.Map would box every lookup's key.
type siteTable struct {
	mu      sync.Mutex // serialises additions
	entries atomic.Pointer[[]siteEntry]
}

// get returns the Site for k, making it with local and a copy of cfg the
// first time.
func (t *siteTable) get(k siteKey, local func() net.Addr, cfg *channel.Config) *channel.Site {
	if site := t.find(func(e *siteEntry) bool { return e.key == k }); site != nil {
		return site
	}
	return t.add(k, local, cfg)
}

// getUnix is get for a Unix socket's path, which it compares without
// making a string of it.
func (t *siteTable) getUnix(path []byte, local func() net.Addr, cfg *channel.Config) *channel.Site {
	if site := t.find(func(e *siteEntry) bool {
		return !e.key.unknown && !e.key.ip.IsValid() && e.key.name == string(path)
	}); site != nil {
		return site
	}
	return t.add(siteKey{name: string(path)}, local, cfg)
}

func (t *siteTable) find(match func(*siteEntry) bool) *channel.Site {
	if p := t.entries.Load(); p != nil {
		for i := range *p {
			if e := &(*p)[i]; match(e) {
				return e.site
			}
		}
	}
	return nil
}

func (t *siteTable) add(k siteKey, local func() net.Addr, cfg *channel.Config) *channel.Site {
	t.mu.Lock()
	defer t.mu.Unlock()
	var old []siteEntry
	if p := t.entries.Load(); p != nil {
		old = *p
		for i := range old {
			if old[i].key == k { // another loop added it meanwhile
				return old[i].site
			}
		}
	}
	site := &channel.Site{Config: *cfg, Local: local()}
	entries := make([]siteEntry, len(old), len(old)+1) // readers keep the old one
	copy(entries, old)
	entries = append(entries, siteEntry{k, site})
	t.entries.Store(&entries)
	return site
}
