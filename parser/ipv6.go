package parser

// ipv6 reports whether b is an IPv6 address in the text form of RFC 4291
// §2.2, the only thing RFC 3986 lets an IP-literal's brackets hold that a
// server can route to (IPvFuture names no address family anyone uses). It
// reads as net/netip.ParseAddr does, so the CONNECT targets we pass are
// the ones net/url accepts: eight groups of one to four hex digits, or
// fewer with one "::" standing for at least one zero group, and an
// optional dotted-quad IPv4 address in place of the last two groups. Zones
// ("%25eth0") are not taken: a zone names an interface of the client's
// host, which means nothing to a tunnel at the server. It does not
// allocate, so the parser stays allocation-free on every input.
func ipv6(b []byte) bool {
	const full = 8 // groups in an address
	groups, ellipsis := 0, false
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis, b = true, b[2:]
		if len(b) == 0 {
			return true
		}
	}
	for groups < full {
		n := 0
		for n < len(b) && class[b[n]]&cHex != 0 {
			if n++; n > 4 {
				return false
			}
		}
		if n == 0 {
			return false
		}
		if n < len(b) && b[n] == '.' {
			// A dotted quad ends the address and takes two groups'
			// room: exactly the last two unless a "::" makes room.
			if !ellipsis && groups != full-2 || groups+2 > full || !ipv4(b) {
				return false
			}
			return !ellipsis || groups+2 < full // a "::" stands for a group at least
		}
		groups++
		if b = b[n:]; len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return false
		}
		b = b[1:]
		if b[0] == ':' {
			if ellipsis {
				return false
			}
			ellipsis, b = true, b[1:]
			if len(b) == 0 {
				break
			}
		}
	}
	if len(b) != 0 {
		return false
	}
	if ellipsis {
		return groups < full
	}
	return groups == full
}

// ipv4 reports whether b is exactly four decimal octets joined by dots,
// each 0 to 255 without a leading zero (which some readers take as octal).
func ipv4(b []byte) bool {
	for field := 0; field < 4; field++ {
		if field > 0 {
			if len(b) == 0 || b[0] != '.' {
				return false
			}
			b = b[1:]
		}
		n, v := 0, 0
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			if n > 0 && v == 0 {
				return false
			}
			v = v*10 + int(b[n]-'0')
			if n++; v > 255 {
				return false
			}
		}
		if n == 0 {
			return false
		}
		b = b[n:]
	}
	return len(b) == 0
}
