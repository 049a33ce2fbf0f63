package parser

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

var ipv6Cases = []struct {
	in   string
	want bool
}{
	{"::", true},
	{"::1", true},
	{"1::", true},
	{"fe80::1", true},
	{"2001:db8::8a2e:370:7334", true},
	{"1:2:3:4:5:6:7:8", true},
	{"ABCD:ef01:2345:6789:abcd:EF01:2345:6789", true},
	{"::ffff:192.0.2.1", true},
	{"1:2:3:4:5:6:1.2.3.4", true},
	{"1::1.2.3.4", true},
	{"::0.0.0.0", true},
	{"", false},
	{"0", false},          // the fuzzer's find: one group is no address
	{"1.2.3.4", false},    // IPv4 has no brackets (RFC 3986 §3.2.2)
	{"::1.2.3.04", false}, // leading zero: octal to some readers
	{"::1.2.3.256", false},
	{"::1.2.3", false},
	{"::1.2.3.4.5", false},
	{"::1.2.3.4:1", false},
	{"1:2:3:4:5:6:7:1.2.3.4", false}, // no room for the quad
	{"1:2:3:4:5::1.2.3.4", true},
	{"1:2:3:4:5:6::1.2.3.4", false}, // "::" must stand for a group
	{"1:2:3:4:5:1.2.3.4", false},    // too short, no "::"
	{"1:2:3:4:5:6:7", false},
	{"1:2:3:4:5:6:7:8:9", false},
	{"1:2:3:4:5:6:7::8", false},
	{"1:2:3:4:5:6:7:8::", false},
	{"::1:2:3:4:5:6:7:8", false},
	{"1:2:3:4::5:6:7", true},
	{"1::2::3", false},
	{":::", false},
	{":1", false},
	{"1:", false},
	{"1::2:", false},
	{"12345::", false},
	{"g::", false},
	{"fe80::1%eth0", false}, // a zone means nothing at the server
	{"v1.x", false},         // IPvFuture
}

func TestIPv6(t *testing.T) {
	for _, c := range ipv6Cases {
		t.Run(c.in, func(t *testing.T) {
			assert.Equal(t, c.want, ipv6([]byte(c.in)))
			assert.Equal(t, c.want, urlTakesIPv6(c.in), "net/netip disagrees with the table")
		})
	}
}

// urlTakesIPv6 is what net/url asks of an IP-literal's content, less the
// zone: netip.ParseAddr reads it, and not as an IPv4 address.
func urlTakesIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && !a.Is4() && a.Zone() == ""
}

// FuzzIPv6 holds ipv6 to netip.ParseAddr, which net/url uses for the
// brackets of a CONNECT target: a difference is a target one side would
// tunnel to and the other refuse.
func FuzzIPv6(f *testing.F) {
	for _, c := range ipv6Cases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if bytes.IndexByte(b, '%') >= 0 {
			return // zones: refused on purpose, see ipv6
		}
		if got, want := ipv6(b), urlTakesIPv6(string(b)); got != want {
			t.Fatalf("ipv6(%q) = %v, netip says %v", b, got, want)
		}
	})
}

func BenchmarkIPv6(b *testing.B) {
	in := []byte("2001:db8::ffff:192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		if !ipv6(in) {
			b.Fatal("refused")
		}
	}
}
