package proxy

import (
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strings"
)

// Handler returns next behind the trusted-proxy model of cfg, or an error
// if cfg is inconsistent (the same configurations Waitress refuses).
//
// For a request from a trusted peer, the trusted headers set r.RemoteAddr,
// r.Host and r.URL.Scheme (see the package documentation). From any other
// peer nothing is believed. Unless cfg.KeepUntrustedHeaders, headers that
// are not believed are removed. A trusted header that does not parse gets
// 400 Bad Request and one log record.
//
// The request is changed in place, not copied: the handler is meant to be
// the first to see the server's request, and middleware around it (such as
// an access log) sees the rewritten values once it returns.
func Handler(next http.Handler, cfg Config) (http.Handler, error) {
	trust, trusted, count, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	h := &handler{
		next:    next,
		trust:   trust,
		trusted: trusted,
		count:   count,
		clear:   !cfg.KeepUntrustedHeaders,
		logUn:   cfg.LogUntrustedHeaders,
		logger:  cfg.Logger,
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h, nil
}

type handler struct {
	next    http.Handler
	trust   trustSet
	trusted header
	count   int
	clear   bool
	logUn   bool
	logger  *slog.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	untrusted := hAll
	if h.trusted != 0 && h.trust.trusts(r) {
		if err := h.apply(r); err != nil {
			h.refuse(w, r, err)
			return
		}
		untrusted = hAll &^ h.trusted
	}
	if h.clear {
		if removed := clearHeaders(r.Header, untrusted); removed != 0 && h.logUn {
			h.logger.Warn("proxy: removed untrusted proxy headers; remove them at the proxy",
				"peer", r.RemoteAddr, "headers", removed.String())
		}
	}
	h.next.ServeHTTP(w, r)
}

// apply believes the trusted headers of a request from a trusted peer.
// Nothing is changed unless every trusted header parses.
func (h *handler) apply(r *http.Request) *malformed {
	var f forwarding
	var forW, hostW window
	var forLines, hostLines []string
	if h.trusted&hForwarded != 0 {
		lines := r.Header["Forwarded"]
		if len(lines) == 0 {
			return nil
		}
		n, e := scanForwarded(lines, math.MaxInt, nil, nil)
		if e != nil {
			return asMalformed(e)
		}
		if _, e = scanForwarded(lines, max(n-h.count, 0), &f, &forW); e != nil {
			return asMalformed(e) // unreachable: the same lines parsed above
		}
		forLines = lines
		if f.proto != "" {
			p, ok := parseProto(f.proto)
			if !ok {
				return bad("Forwarded", "proto= is neither http nor https", f.proto)
			}
			f.proto = p
		}
	} else {
		if h.trusted&hXFor != 0 {
			if forLines = r.Header["X-Forwarded-For"]; forLines != nil {
				v, win, e := listWindow(forLines, h.count, "X-Forwarded-For")
				if e != nil {
					return asMalformed(e)
				}
				f.client, forW = v, win
			}
		}
		if h.trusted&hXHost != 0 {
			if hostLines = r.Header["X-Forwarded-Host"]; hostLines != nil {
				v, win, e := listWindow(hostLines, h.count, "X-Forwarded-Host")
				if e != nil {
					return asMalformed(e)
				}
				f.host, hostW = v, win
			}
		}
		if h.trusted&hXProto != 0 {
			v, e := single(r.Header["X-Forwarded-Proto"], "X-Forwarded-Proto")
			if e != nil {
				return asMalformed(e)
			}
			if v != "" {
				p, ok := parseProto(v)
				if !ok {
					return bad("X-Forwarded-Proto", "neither http nor https", v)
				}
				f.proto = p
			}
		}
		if h.trusted&hXPort != 0 {
			v, e := single(r.Header["X-Forwarded-Port"], "X-Forwarded-Port")
			if e != nil {
				return asMalformed(e)
			}
			if v != "" {
				if _, ok := parsePort(v); !ok {
					return bad("X-Forwarded-Port", "not a port number", v)
				}
				f.port = v
			}
		}
	}

	// Validate everything before changing anything.
	forHeader, hostHeader := "X-Forwarded-For", "X-Forwarded-Host"
	if h.trusted&hForwarded != 0 {
		forHeader, hostHeader = "Forwarded", "Forwarded"
	}
	var addr netip.Addr
	var port uint16
	known := false
	if f.client != "" {
		var ok bool
		addr, port, known, ok = parseNode(f.client, h.trusted&hForwarded != 0)
		if !ok {
			return bad(forHeader, "client is not an IP address", f.client)
		}
	}
	var hostName, hostPort string
	if f.host != "" {
		var ok bool
		if hostName, hostPort, ok = splitHost(f.host); !ok {
			return bad(hostHeader, "invalid host", f.host)
		}
	}

	if known {
		r.RemoteAddr = netip.AddrPortFrom(addr, port).String()
	}
	if f.proto != "" && r.URL != nil {
		r.URL.Scheme = f.proto
	}
	scheme := Scheme(r)
	switch {
	case f.host != "" && hostPort != "":
		r.Host = f.host // the forwarded host's own port wins over X-Forwarded-Port, as in Waitress
	case f.host != "":
		r.Host = withPort(hostName, f.port, scheme)
	case f.port != "":
		if name, _, ok := splitHost(r.Host); ok {
			r.Host = withPort(name, f.port, scheme)
		}
	}

	// Waitress 3.0.2: believed list headers keep only the believed entries,
	// so that the application cannot read more into them than the server did.
	if h.clear {
		trimTo(r.Header, forHeader, forLines, forW)
		trimTo(r.Header, "X-Forwarded-Host", hostLines, hostW)
	}
	return nil
}

func asMalformed(err error) *malformed {
	m, _ := err.(*malformed) //nolint:errorlint // the parsers return *malformed and nothing else
	return m
}

// withPort joins a host name and a forwarded port, leaving out the port
// that is the scheme's default (Waitress's rules for HTTP_HOST).
func withPort(name, port, scheme string) string {
	if port == "" || port == defaultPort(scheme) {
		return name
	}
	return name + ":" + port
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// trimTo cuts the field lines of a believed list header down to the window.
func trimTo(hdr http.Header, name string, lines []string, w window) {
	if lines == nil || (w.line == 0 && strings.Trim(lines[0][:w.offset], " \t,") == "") {
		return // nothing but separators before the window
	}
	lines = lines[w.line:]
	lines[0] = trimOWS(lines[0][w.offset:])
	hdr[name] = lines
}

// clearHeaders removes the proxy headers in set from hdr and reports which
// were there.
func clearHeaders(hdr http.Header, set header) header {
	var removed header
	for i, name := range headerNames {
		bit := header(1) << i
		if set&bit == 0 {
			continue
		}
		if _, ok := hdr[name]; ok {
			delete(hdr, name)
			removed |= bit
		}
	}
	return removed
}

func (s header) String() string {
	var b strings.Builder
	for i, name := range headerNames {
		if s&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(name)
		}
	}
	return b.String()
}

// maxLoggedValue bounds the header value quoted in a log record: it comes
// from the network.
const maxLoggedValue = 256

// refuse answers a malformed trusted header with 400 and logs it once. The
// body names the header and the reason but does not echo the value.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, m *malformed) {
	v := m.value
	if len(v) > maxLoggedValue {
		v = v[:maxLoggedValue] + "..."
	}
	h.logger.Warn("proxy: malformed proxy header", "peer", r.RemoteAddr, "header", m.header, "reason", m.reason, "value", v)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte("400 Bad Request: " + m.Error() + "\n"))
}
