package proxy

import (
	"net/netip"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// forwarding is what the trusted part of the proxy headers says about the
// client side of the chain. Strings are substrings of the header values
// (or, for quoted values with escapes, fresh copies).
type forwarding struct {
	client string // a node: IP, IP:port, [IPv6]:port, "unknown" or obfuscated
	host   string // host[:port] the client asked for
	proto  string // "http" or "https", lower case
	port   string // explicit X-Forwarded-Port
}

// malformed describes a proxy header refused with 400.
type malformed struct {
	header string // canonical header name, with "proto=" etc. for Forwarded parameters
	reason string
	value  string
}

func (e *malformed) Error() string {
	return "malformed " + e.header + " header: " + e.reason
}

func bad(header, reason, value string) *malformed {
	return &malformed{header: header, reason: reason, value: value}
}

// window says where the trusted elements of a list header begin: field
// line and byte offset in that line.
type window struct {
	line   int
	offset int
}

// scanForwarded parses Forwarded field lines (RFC 7239 §4: elements
// separated by commas, pairs by semicolons) and returns the number of
// elements. The whole header must parse: quoted strings may contain
// commas, so element boundaries are only known after a full scan. For
// elements with index >= from, parameters are folded into f oldest first,
// an older element's value winning, as in Waitress: the oldest entry the
// trusted proxies vouch for is the one closest to the client. The window
// start is recorded in w when w is not nil.
//
// Leniency: optional whitespace is allowed around ";" and "," (people write
// "for=1.2.3.4; proto=https" in NGINX configurations), never around "=";
// an unquoted value may hold any visible character but ",", ";" and '"',
// so that an unquoted "[2001:db8::1]" is accepted as Waitress does.
func scanForwarded(lines []string, from int, f *forwarding, w *window) (int, error) {
	n := 0
	for li, s := range lines {
		i := 0
		for {
			i = skipListSeparators(s, i)
			if i >= len(s) {
				break
			}
			if n == from && w != nil {
				*w = window{line: li, offset: i}
			}
			var err error
			i, err = scanElement(s, i, n >= from, f)
			if err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// skipListSeparators skips whitespace and empty list elements (RFC 9110
// §5.6.1: a recipient ignores them).
func skipListSeparators(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
		i++
	}
	return i
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// scanElement parses one forwarded-element starting at s[i] and returns
// the index just past it (at a "," or the end of s).
func scanElement(s string, i int, fold bool, f *forwarding) (int, error) {
	var seen uint8 // parameters present in this element: RFC 7239 §4 allows each once
	var elem forwarding
	for i < len(s) {
		i = skipOWS(s, i)
		if i >= len(s) || s[i] == ',' {
			break
		}
		if s[i] == ';' {
			i++
			continue
		}
		start := i
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := s[start:i]
		if name == "" {
			return i, bad("Forwarded", "expected a parameter name", s)
		}
		if i >= len(s) || s[i] != '=' {
			return i, bad("Forwarded", `parameter without "="`, s)
		}
		i++
		var value string
		var err error
		value, i, err = scanValue(s, i)
		if err != nil {
			return i, err
		}
		var bit uint8
		var dst *string
		switch {
		case strings.EqualFold(name, "for"):
			bit, dst = 1, &elem.client
		case strings.EqualFold(name, "host"):
			bit, dst = 2, &elem.host
		case strings.EqualFold(name, "proto"):
			bit, dst = 4, &elem.proto
		case strings.EqualFold(name, "by"):
			bit = 8
		default:
			// Extensions (RFC 7239 §5.5) are ignored; Waitress logs them,
			// which from a trusted proxy is one warning per request.
		}
		if bit != 0 {
			if seen&bit != 0 {
				return i, bad("Forwarded", "parameter "+strings.ToLower(name)+" repeated in one element", s)
			}
			seen |= bit
		}
		if dst != nil {
			*dst = value
		}
		i = skipOWS(s, i)
		if i < len(s) && s[i] != ';' && s[i] != ',' {
			return i, bad("Forwarded", `expected ";" or "," after a value`, s)
		}
	}
	if fold {
		if f.client == "" {
			f.client = elem.client
		}
		if f.host == "" {
			f.host = elem.host
		}
		if f.proto == "" {
			f.proto = elem.proto
		}
	}
	return i, nil
}

// scanValue reads a token or quoted-string value at s[i].
func scanValue(s string, i int) (string, int, error) {
	if i < len(s) && s[i] == '"' {
		return scanQuoted(s, i, "Forwarded")
	}
	start := i
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f && s[i] != ',' && s[i] != ';' && s[i] != '"' {
		i++
	}
	if i == start {
		return "", i, bad("Forwarded", "empty value", s)
	}
	return s[start:i], i, nil
}

// scanQuoted reads a quoted-string (RFC 9110 §5.6.4) starting at the
// opening quote s[i] and returns its content, unescaped, and the index past
// the closing quote. It allocates only when the content has escapes.
func scanQuoted(s string, i int, header string) (string, int, error) {
	i++
	start := i
	escaped := false
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			v := s[start:i]
			if escaped {
				v = unescape(v)
			}
			return v, i + 1, nil
		case c == '\\':
			if i+1 >= len(s) || !isQuotedPairChar(s[i+1]) {
				return "", i, bad(header, "invalid escape in quoted string", s)
			}
			escaped = true
			i += 2
		case c == '\t' || (c >= ' ' && c != 0x7f):
			i++
		default:
			return "", i, bad(header, "control character in quoted string", s)
		}
	}
	return "", i, bad(header, "unterminated quoted string", s)
}

func unescape(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func isQuotedPairChar(c byte) bool { return c == '\t' || (c >= ' ' && c != 0x7f) }

func isTokenChar(c byte) bool { return httpguts.IsTokenRune(rune(c)) }

// listWindow finds the trusted part of a comma-separated header spread over
// field lines (X-Forwarded-For, X-Forwarded-Host): the oldest of the last
// count non-empty elements, trimmed of whitespace and unquoted as Waitress
// does. It returns the element ("" if the list is empty) and where it
// starts. It scans from the right and stops there, so a long list made up
// by a client costs nothing: elements before the window were written by
// the client or by hops nobody vouches for, and are neither read nor
// validated.
func listWindow(lines []string, count int, header string) (string, window, error) {
	var elem string
	var w window
	k := 0
	for li := len(lines) - 1; li >= 0 && k < count; li-- {
		s := lines[li]
		for end := len(s); end >= 0 && k < count; {
			start := strings.LastIndexByte(s[:end], ',') + 1
			if e := trimOWS(s[start:end]); e != "" {
				elem, w = e, window{line: li, offset: start}
				k++
			}
			end = start - 1
		}
	}
	if k == 0 {
		return "", window{}, nil
	}
	v, err := unquoteListElement(elem, header)
	return v, w, err
}

// unquoteListElement undoes optional quoting of an X-Forwarded-* element,
// as Waitress's undquote: a value that starts or ends with a quote must be
// one whole quoted-string.
func unquoteListElement(v, header string) (string, error) {
	if !strings.HasPrefix(v, `"`) && !strings.HasSuffix(v, `"`) {
		return v, nil
	}
	if !strings.HasPrefix(v, `"`) {
		return "", bad(header, "invalid quoting", v)
	}
	u, end, err := scanQuoted(v, 0, header)
	if err != nil || end != len(v) {
		return "", bad(header, "invalid quoting", v)
	}
	return u, nil
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// single returns the one value of a header that may not be a list
// (X-Forwarded-Proto, X-Forwarded-Port), unquoted.
func single(lines []string, header string) (string, error) {
	if len(lines) == 0 {
		return "", nil
	}
	if len(lines) > 1 || strings.IndexByte(lines[0], ',') >= 0 {
		return "", bad(header, "more than one value", strings.Join(lines, ", "))
	}
	return unquoteListElement(trimOWS(lines[0]), header)
}

// parseProto accepts what Waitress accepts: http or https, any case.
func parseProto(v string) (string, bool) {
	switch {
	case strings.EqualFold(v, "http"):
		return "http", true
	case strings.EqualFold(v, "https"):
		return "https", true
	}
	return "", false
}

// parsePort accepts a decimal port 1-65535.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	if n == 0 || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// parseNode parses a client address from X-Forwarded-For or Forwarded
// for=: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]",
// "[2001:db8::1]:4711". known is false for "unknown" and, when
// obfuscated is allowed (Forwarded, RFC 7239 §6.3), for "_hidden"
// identifiers: the address is then left as it was. An obfuscated port
// counts as an unknown port (0).
func parseNode(s string, obfuscated bool) (addr netip.Addr, port uint16, known bool, ok bool) {
	switch {
	case strings.EqualFold(s, "unknown"):
		return addr, 0, false, true
	case obfuscated && strings.HasPrefix(s, "_"):
		return addr, 0, false, validObfuscated(s[1:])
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return addr, 0, false, false
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return addr, 0, false, false
		}
		rest := s[end+1:]
		if rest == "" {
			return a, 0, true, true
		}
		p, ok := nodePort(rest, obfuscated)
		return a, p, true, ok
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, 0, true, true
	}
	// IPv4 with a port: exactly one colon.
	colon := strings.IndexByte(s, ':')
	if colon < 0 || strings.IndexByte(s[colon+1:], ':') >= 0 {
		return addr, 0, false, false
	}
	a, err := netip.ParseAddr(s[:colon])
	if err != nil || !a.Is4() {
		return addr, 0, false, false
	}
	p, ok := nodePort(s[colon:], obfuscated)
	return a, p, true, ok
}

// nodePort parses ":port" after a node address.
func nodePort(s string, obfuscated bool) (uint16, bool) {
	if len(s) < 2 || s[0] != ':' {
		return 0, false
	}
	if obfuscated && s[1] == '_' {
		return 0, validObfuscated(s[2:])
	}
	return parsePort(s[1:])
}

func validObfuscated(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// splitHost splits a forwarded host into name and port ("" if none) and
// vets it: a valid Host field value (RFC 9110 §7.2), a bracketed IPv6
// literal if it starts with "[", and a numeric port if it has one.
func splitHost(h string) (name, port string, ok bool) {
	if h == "" || !httpguts.ValidHostHeader(h) {
		return "", "", false
	}
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", false
		}
		if _, err := netip.ParseAddr(h[1:end]); err != nil {
			return "", "", false
		}
		name, rest := h[:end+1], h[end+1:]
		if rest == "" {
			return name, "", true
		}
		if rest[0] != ':' {
			return "", "", false
		}
		_, ok := parsePort(rest[1:])
		return name, rest[1:], ok
	}
	colon := strings.LastIndexByte(h, ':')
	if colon < 0 {
		return h, "", true
	}
	if colon == 0 || strings.IndexByte(h[:colon], ':') >= 0 {
		return "", "", false
	}
	_, ok = parsePort(h[colon+1:])
	return h[:colon], h[colon+1:], ok
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
