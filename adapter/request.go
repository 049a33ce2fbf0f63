package adapter

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/parser"
)

var errBadTarget = &parser.Error{Status: 400, Reason: "invalid request-target"}

// pending is everything carhop allocates for one request besides its
// header map and its head string: one allocation where building them one
// by one takes eight. It is allocated with the backing array of r.Header's
// values behind it (newPending).
type pending struct {
	channel.Request
	ctx  requestContext
	url  url.URL
	req  http.Request
	body body // r.Body, for a request with a body
}

// A request's pending is garbage once it is answered, and on a server
// opening many connections that garbage, not what the connections keep,
// sets the heap's size (docs/performance.md, "Memory per idle
// connection"). So the values array is sized to the request in three
// steps, each filling its size class with the 8-byte header Go puts
// before an object over 512 bytes that holds pointers: two values (640
// bytes: wrk's request, curl's, a GET from Go's http.Client), six (704:
// most API calls), sixteen (896: browsers). A single array of sixteen
// made every request 896 bytes and an idle connection about 100 bytes
// dearer.
type (
	pending2 struct {
		pending
		values [2]string
	}
	pending6 struct {
		pending
		values [6]string
	}
	pending16 struct {
		pending
		values [16]string
	}
)

// newPending allocates a request's pending with room for n header
// values; more than sixteen take an allocation of their own.
func newPending(n int) (*pending, []string) {
	switch {
	case n <= 2:
		p := &pending2{}
		return &p.pending, p.values[:n]
	case n <= 6:
		p := &pending6{}
		return &p.pending, p.values[:n]
	case n <= 16:
		p := &pending16{}
		return &p.pending, p.values[:n]
	}
	return &pending{}, make([]string, n)
}

// cancelRequest is channel.Config.Cancel.
func cancelRequest(cr *channel.Request) { cr.Value.(*pending).ctx.cancel() }

// newRequest builds the *http.Request for a parsed head, as net/http's
// readRequest does. It runs on the event loop, once per request, so it
// is frugal: the head is copied into one string and every method, target,
// name and value is a substring of it.
func (s *Server) newRequest(ch *channel.Channel, h *parser.Request) (*channel.Request, error) {
	fields := len(h.Headers)
	if h.HasHost {
		fields-- // Host goes to r.Host, not into the map
	}
	p, values := newPending(fields)
	p.Value = p
	head, remote := headAndRemote(h.Head, ch.RemoteAddr())
	sub := func(b []byte) string {
		i := h.Offset(b)
		return head[i : i+len(b)]
	}
	tmp := http.Request{
		Method:     sub(h.Method),
		RequestURI: sub(h.Target),
		Proto:      h.Proto(),
		ProtoMajor: h.ProtoMajor,
		ProtoMinor: h.ProtoMinor,
		Header:     make(http.Header, fields),
		Close:      !h.KeepAlive,
		RemoteAddr: remote,
		Body:       http.NoBody,
	}
	u := &p.url
	if err := parseTarget(u, h.Form, tmp.RequestURI); err != nil {
		return nil, errBadTarget
	}
	tmp.URL = u
	j := 0
	for _, f := range h.Headers {
		k := textproto.CanonicalMIMEHeaderKey(sub(f.Name))
		if k == "Host" {
			// As net/http: Host is r.Host, never a header. Not adding it
			// spares a request that sends only Host its map's table.
			continue
		}
		values[j] = sub(f.Value)
		if vs := tmp.Header[k]; vs != nil {
			tmp.Header[k] = append(vs, values[j])
		} else {
			tmp.Header[k] = values[j : j+1 : j+1]
		}
		j++
	}
	// As net/http (RFC 9111 §5.4): an HTTP/1.0 cache's "Pragma: no-cache"
	// is read as "Cache-Control: no-cache" where the client sent none.
	if p := tmp.Header["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := tmp.Header["Cache-Control"]; !ok {
			tmp.Header["Cache-Control"] = []string{"no-cache"}
		}
	}
	// As net/http: Host moves from the header to r.Host, and an absolute
	// target's authority wins over it (RFC 9112 §3.2.2).
	if h.HasHost {
		tmp.Host = sub(h.Host)
	}
	if u.Host != "" {
		tmp.Host = u.Host
	}
	tmp.ContentLength = h.ContentLength
	if h.ProtoMajor == 2 {
		// The HTTP/2 preface, "neither chunked, nor declared", as
		// net/http has it for a handler that hijacks it (h2c).
		tmp.ContentLength = -1
	}
	if h.Chunked {
		tmp.TransferEncoding = []string{"chunked"}
		delete(tmp.Header, "Transfer-Encoding")
		for _, v := range tmp.Header["Trailer"] {
			for _, k := range splitList(v) {
				if tmp.Trailer == nil {
					tmp.Trailer = make(http.Header)
				}
				tmp.Trailer[textproto.CanonicalMIMEHeaderKey(k)] = nil
			}
		}
		// As net/http: the announcement becomes r.Trailer's keys; it is
		// not a header of the request. (Without chunked framing there are
		// no trailers, and net/http leaves it in the header.)
		delete(tmp.Header, "Trailer")
	}
	p.ctx.local, p.ctx.parent = ch.LocalAddr(), s.cfg.baseContext
	if conn, ok := ch.ConnValue().(context.Context); ok {
		p.ctx.parent = conn // WithConnContext's, made from the base context
	}
	// WithContext is the only way to set a request's context, and it
	// returns a new *http.Request. It is inlined, so its copy stays on the
	// stack and the request lives in pending (TestRequestAllocations
	// notices if a Go release stops inlining it).
	p.req = *tmp.WithContext(&p.ctx)
	return &p.Request, nil
}

// headAndRemote copies the request head into a string, and formats the
// client's address (as net.Addr's String does: r.RemoteAddr) into the
// same allocation. The channel does not keep the address formatted: that
// would be 32 bytes more for every idle connection.
func headAndRemote(head []byte, a net.Addr) (string, string) {
	var buf [64]byte
	addr := appendAddr(buf[:0], a)
	var b strings.Builder
	b.Grow(len(head) + len(addr))
	b.Write(head)
	b.Write(addr)
	s := b.String()
	return s[:len(head)], s[len(head):]
}

// appendAddr appends a.String() to b, without allocating for TCP.
func appendAddr(b []byte, a net.Addr) []byte {
	// A zone (IPv6 link-local clients only) takes the slow way: netip and
	// net do not print every zoned address alike.
	if ta, ok := a.(*net.TCPAddr); ok && ta != nil && ta.Zone == "" {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			// net prints an IPv4-mapped address as IPv4.
			return netip.AddrPortFrom(ip.Unmap(), uint16(ta.Port)).AppendTo(b)
		}
	}
	if a == nil {
		return b
	}
	return append(b, a.String()...)
}

// parseTarget is url.ParseRequestURI into u, with a fast path for the
// common origin-form target whose path url would leave as it is, which
// it would parse to exactly this (the parser has already vetted every
// byte). A path with an escape, or a byte url's EscapedPath escapes ('!',
// '*', '(' and others), takes the slow way: url then keeps the original
// in RawPath, and r.URL.String() and EscapedPath() must give it back.
func parseTarget(u *url.URL, form parser.TargetForm, target string) error {
	switch form {
	case parser.AsteriskForm:
		u.Path = "*"
		return nil
	case parser.AuthorityForm:
		// As net/http: the authority goes to u.Host (and so to r.Host),
		// with no scheme and no path.
		parsed, err := url.ParseRequestURI("http://" + target)
		if err != nil {
			return err
		}
		parsed.Scheme = ""
		*u = *parsed
		return nil
	case parser.OriginForm:
		path, query, hasQuery := strings.Cut(target, "?")
		if plainPath(path) {
			u.Path, u.RawQuery = path, query
			u.ForceQuery = hasQuery && query == "" // "/p?" prints back as it came
			return nil
		}
	}
	parsed, err := url.ParseRequestURI(target)
	if err != nil {
		return err
	}
	*u = *parsed
	return nil
}

// plainPath reports whether url's EscapedPath would write path as it is:
// unreserved bytes and the sub-delimiters it leaves alone in a path.
func plainPath(path string) bool {
	for i := 0; i < len(path); i++ {
		if !pathByte[path[i]] {
			return false
		}
	}
	return true
}

var pathByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

// setTrailers fills in the trailers of a chunked request once it is
// complete, before any handler runs.
func setTrailers(cr *channel.Request, trailers []parser.Header) {
	r := &cr.Value.(*pending).req
	if r.Trailer == nil {
		r.Trailer = make(http.Header, len(trailers))
	}
	for _, t := range trailers {
		k := textproto.CanonicalMIMEHeaderKey(string(t.Name))
		r.Trailer[k] = append(r.Trailer[k], string(t.Value))
	}
}

// splitList splits a comma-separated field value into its trimmed, non-empty
// elements.
func splitList(v string) []string {
	var out []string
	for len(v) > 0 {
		var elem string
		elem, v, _ = strings.Cut(v, ",")
		if elem = textproto.TrimString(elem); elem != "" {
			out = append(out, elem)
		}
	}
	return out
}
