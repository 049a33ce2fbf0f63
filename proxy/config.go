package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Config is Waitress's trusted-proxy model. The zero value trusts nobody
// and removes every proxy header from every request.
type Config struct {
	// TrustedProxies are the peers whose proxy headers are believed
	// (Waitress trusted_proxy): IP addresses ("192.0.2.10", "::1"), CIDR
	// prefixes ("10.0.0.0/8", "fd00::/8"), "*" for any peer, and "unix" for
	// peers connected through a Unix domain socket (which have no IP
	// address to match; Waitress calls them "localhost").
	TrustedProxies []string

	// TrustedCount is how many proxies stand in front of the server
	// (Waitress trusted_proxy_count): how many entries of X-Forwarded-For
	// and X-Forwarded-Host, or elements of Forwarded, counted from the
	// right, are believed. The oldest believed entry describes the client.
	// Zero means 1.
	TrustedCount int

	// TrustedHeaders are the headers the trusted proxies set (Waitress
	// trusted_proxy_headers), by lower-case name: "forwarded" alone, or
	// any of "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
	// "x-forwarded-port" and "x-forwarded-by". Required when
	// TrustedProxies is set: a proxy that does not overwrite a header
	// passes the client's copy through (NGINX does unless told with
	// proxy_set_header), so trusting a header it does not set lets clients
	// spoof it. Waitress refuses to trust Forwarded together with any
	// X-Forwarded-* header, and so does New.
	TrustedHeaders []string

	// KeepUntrustedHeaders leaves proxy headers that are not believed in
	// r.Header (Waitress clear_untrusted_proxy_headers=false). By default
	// they are removed, and believed list headers are cut down to the
	// believed entries, so that a handler reading r.Header cannot take a
	// client's copy for the proxy's.
	KeepUntrustedHeaders bool

	// LogUntrustedHeaders logs, once per request, which untrusted proxy
	// headers were removed (Waitress log_untrusted_proxy_headers).
	LogUntrustedHeaders bool

	// Logger receives malformed-header and untrusted-header records.
	// Default slog.Default().
	Logger *slog.Logger
}

// header is a bit set of the proxy headers.
type header uint8

const (
	hForwarded header = 1 << iota
	hXFor
	hXHost
	hXProto
	hXPort
	hXBy
	hAll = hForwarded | hXFor | hXHost | hXProto | hXPort | hXBy
)

// headerNames are canonical, as the server's request headers are, so that
// r.Header is indexed without canonicalising.
var headerNames = [...]string{
	"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Port", "X-Forwarded-By",
}

// HeaderNames lists the proxy headers Config.TrustedHeaders may name.
func HeaderNames() []string {
	out := make([]string, len(headerNames))
	for i, n := range headerNames {
		out[i] = strings.ToLower(n)
	}
	return out
}

func headerBit(name string) header {
	for i, n := range headerNames {
		if strings.EqualFold(name, n) {
			return 1 << i
		}
	}
	return 0
}

// trustSet matches peers against Config.TrustedProxies.
type trustSet struct {
	any      bool
	unix     bool
	prefixes []netip.Prefix
}

func parseTrusted(entries []string) (trustSet, error) {
	var t trustSet
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case e == "*":
			t.any = true
		case strings.EqualFold(e, "unix"):
			t.unix = true
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return t, fmt.Errorf("proxy: trusted proxy %q: %w", e, err)
			}
			if p.Addr().Is4In6() {
				// ::ffff:10.0.0.0/104 means 10.0.0.0/8: peers are unmapped before matching.
				if p.Bits() < 96 {
					return t, fmt.Errorf("proxy: trusted proxy %q: IPv4-mapped prefix shorter than /96", e)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			t.prefixes = append(t.prefixes, p.Masked())
		default:
			a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(e, "["), "]"))
			if err != nil {
				return t, fmt.Errorf("proxy: trusted proxy %q: not an IP address, CIDR prefix, \"*\" or \"unix\": %w", e, err)
			}
			a = a.Unmap().WithZone("")
			t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return t, nil
}

func (t *trustSet) empty() bool { return !t.any && !t.unix && len(t.prefixes) == 0 }

// trusts reports whether the peer of r is a trusted proxy. r.RemoteAddr
// is the TCP peer as the server set it; a peer on a Unix socket is
// recognised by the local address the server puts in the context.
func (t *trustSet) trusts(r *http.Request) bool {
	if t.any {
		return true
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		a := ap.Addr().Unmap().WithZone("")
		for _, p := range t.prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if t.unix {
		if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la.Network() == "unix" {
			return true
		}
	}
	return false
}

var errForwardedAndX = errors.New(`proxy: the Forwarded header and the X-Forwarded-* headers are mutually exclusive; trust one kind (as Waitress)`)

// compile validates c as Waitress's Adjustments does.
func (c *Config) compile() (trustSet, header, int, error) {
	trust, err := parseTrusted(c.TrustedProxies)
	if err != nil {
		return trust, 0, 0, err
	}
	var trusted header
	for _, n := range c.TrustedHeaders {
		b := headerBit(strings.TrimSpace(n))
		if b == 0 {
			return trust, 0, 0, fmt.Errorf("proxy: unknown trusted proxy header %q; known: %s", n, strings.Join(HeaderNames(), ", "))
		}
		trusted |= b
	}
	if trusted&hForwarded != 0 && trusted != hForwarded {
		return trust, 0, 0, errForwardedAndX
	}
	if c.TrustedCount < 0 {
		return trust, 0, 0, fmt.Errorf("proxy: TrustedCount %d: must not be negative", c.TrustedCount)
	}
	count := c.TrustedCount
	if count == 0 {
		count = 1
	}
	switch {
	case trust.empty() && trusted != 0:
		return trust, 0, 0, errors.New("proxy: trusted proxy headers mean nothing without a trusted proxy")
	case trust.empty() && c.TrustedCount != 0:
		return trust, 0, 0, errors.New("proxy: a trusted proxy count means nothing without a trusted proxy")
	case !trust.empty() && trusted == 0:
		return trust, 0, 0, errors.New("proxy: trusted proxies need trusted proxy headers: name the headers your proxy sets (a header it does not set passes the client's copy through)")
	}
	return trust, trusted, count, nil
}
