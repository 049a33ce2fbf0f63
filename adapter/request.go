package adapter

import (
	"context"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/parser"
)

// request is the adapter's per-request value carried by the channel.
type request struct {
	req    *http.Request
	cancel context.CancelFunc
}

var errBadTarget = &parser.Error{Status: 400, Reason: "invalid request-target"}

// newRequest builds the *http.Request for a parsed head, as net/http's
// readRequest does. It runs on the event loop.
func (s *Server) newRequest(ch *channel.Channel, h *parser.Request) (any, error) {
	r := &http.Request{
		Method:     string(h.Method),
		RequestURI: string(h.Target),
		Proto:      h.Proto(),
		ProtoMajor: h.ProtoMajor,
		ProtoMinor: h.ProtoMinor,
		Header:     make(http.Header, len(h.Headers)),
		Close:      !h.KeepAlive,
		RemoteAddr: ch.RemoteAddr().String(),
		Body:       http.NoBody,
	}
	if h.Form == parser.AsteriskForm {
		r.URL = &url.URL{Path: "*"}
	} else {
		u, err := url.ParseRequestURI(r.RequestURI)
		if err != nil {
			return nil, errBadTarget
		}
		r.URL = u
	}
	for _, f := range h.Headers {
		k := textproto.CanonicalMIMEHeaderKey(string(f.Name))
		r.Header[k] = append(r.Header[k], string(f.Value))
	}
	// As net/http: Host moves from the header to r.Host, and an absolute
	// target's authority wins over it (RFC 9112 §3.2.2).
	r.Host = string(h.Host)
	if r.URL.Host != "" {
		r.Host = r.URL.Host
	}
	delete(r.Header, "Host")
	r.ContentLength = h.ContentLength
	if h.Chunked {
		r.TransferEncoding = []string{"chunked"}
		delete(r.Header, "Transfer-Encoding")
		for _, v := range r.Header["Trailer"] {
			for _, k := range splitList(v) {
				if r.Trailer == nil {
					r.Trailer = make(http.Header)
				}
				r.Trailer[textproto.CanonicalMIMEHeaderKey(k)] = nil
			}
		}
	}
	ctx, cancel := context.WithCancel(s.baseCtx)
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, ch.LocalAddr())
	return &request{req: r.WithContext(ctx), cancel: cancel}, nil
}

// setTrailers fills in the trailers of a chunked request once it is
// complete, before any handler runs.
func setTrailers(cr *channel.Request, trailers []parser.Header) {
	r := cr.Value.(*request).req
	if r.Trailer == nil {
		r.Trailer = make(http.Header, len(trailers))
	}
	for _, t := range trailers {
		k := textproto.CanonicalMIMEHeaderKey(string(t.Name))
		r.Trailer[k] = append(r.Trailer[k], string(t.Value))
	}
}

func cancelRequest(cr *channel.Request) {
	if r, ok := cr.Value.(*request); ok {
		r.cancel()
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
