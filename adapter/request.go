package adapter

import (
	"context"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/parser"
)

var errBadTarget = &parser.Error{Status: 400, Reason: "invalid request-target"}

// newRequest builds the *http.Request for a parsed head, as net/http's
// readRequest does. It runs on the event loop, once per request, so it
// is frugal: the head is copied into one string and every method, target,
// name and value is a substring of it.
func (s *Server) newRequest(ch *channel.Channel, h *parser.Request) (any, func(), error) {
	head := string(h.Head)
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
		Header:     make(http.Header, len(h.Headers)),
		Close:      !h.KeepAlive,
		RemoteAddr: ch.RemoteAddrString(),
		Body:       http.NoBody,
	}
	u, err := parseTarget(h.Form, tmp.RequestURI)
	if err != nil {
		return nil, nil, errBadTarget
	}
	tmp.URL = u
	values := make([]string, len(h.Headers))
	for i, f := range h.Headers {
		k := textproto.CanonicalMIMEHeaderKey(sub(f.Name))
		values[i] = sub(f.Value)
		if vs := tmp.Header[k]; vs != nil {
			tmp.Header[k] = append(vs, values[i])
		} else {
			tmp.Header[k] = values[i : i+1 : i+1]
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
	delete(tmp.Header, "Host")
	tmp.ContentLength = h.ContentLength
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
	}
	// The connection's context (made once per connection) carries the
	// local address; each request gets a cancelable child of it.
	cctx, ok := ch.Data.(*connContext)
	if !ok {
		cctx = &connContext{s.baseCtx, ch.LocalAddr()}
		ch.Data = cctx
	}
	ctx, cancel := context.WithCancel(cctx)
	// tmp stays on the stack: WithContext makes the one heap copy.
	return tmp.WithContext(ctx), cancel, nil
}

// parseTarget is url.ParseRequestURI with a fast path for the common
// origin-form target without escapes, which it would parse to exactly
// this (the parser has already vetted every byte).
func parseTarget(form parser.TargetForm, target string) (*url.URL, error) {
	switch {
	case form == parser.AsteriskForm:
		return &url.URL{Path: "*"}, nil
	case form == parser.OriginForm && strings.IndexByte(target, '%') < 0:
		path, query, _ := strings.Cut(target, "?")
		return &url.URL{Path: path, RawQuery: query}, nil
	}
	return url.ParseRequestURI(target)
}

// connContext carries http.LocalAddrContextKey for all requests of a
// connection, without a context.WithValue per request.
type connContext struct {
	context.Context
	local net.Addr
}

func (c *connContext) Value(key any) any {
	if key == http.LocalAddrContextKey {
		return c.local
	}
	return c.Context.Value(key)
}

// setTrailers fills in the trailers of a chunked request once it is
// complete, before any handler runs.
func setTrailers(cr *channel.Request, trailers []parser.Header) {
	r := cr.Value.(*http.Request)
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
