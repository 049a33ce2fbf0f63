package proxy

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"
)

// NormalizePrefix returns a URL prefix in the form Waitress's url_prefix
// setting gives it: surrounding spaces dropped, exactly one leading slash,
// no trailing slash; "" (or "/") means no prefix. It refuses a prefix that
// is not a clean path of plain characters, since it is compared with the
// request's path byte for byte.
func NormalizePrefix(prefix string) (string, error) {
	p := strings.Trim(strings.TrimSpace(prefix), "/")
	if p == "" {
		return "", nil
	}
	p = "/" + p
	if path.Clean(p) != p {
		return "", fmt.Errorf("proxy: URL prefix %q: not a clean path", prefix)
	}
	for i := 0; i < len(p); i++ {
		if !isPathChar(p[i]) {
			return "", fmt.Errorf("proxy: URL prefix %q: %q must not appear in it", prefix, p[i])
		}
	}
	return p, nil
}

// isPathChar reports whether c stands for itself in a URL path: RFC 3986
// pchar without percent-encoding, plus "/".
func isPathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// StripPrefix serves an application mounted under a URL prefix (Waitress
// url_prefix, where the prefix becomes SCRIPT_NAME): the proxy passes
// /app/x through unchanged and the handler sees /x.
//
//   - A path under the prefix ("/app/" or "/app/x") reaches next with the
//     prefix removed from r.URL.Path and r.URL.RawPath; r.RequestURI keeps
//     what the client sent, and URLPrefix(r) returns the prefix.
//   - The prefix itself ("/app") is redirected to "/app/" (301 for GET and
//     HEAD, 308 otherwise, so that a POST stays a POST). Waitress passes it
//     on with an empty PATH_INFO; a Go handler given an empty path would
//     make http.ServeMux redirect to "/", outside the prefix.
//   - Any other path gets 404, as http.StripPrefix does. Waitress passes
//     such a request on with the whole path in PATH_INFO; Go has no
//     SCRIPT_NAME/PATH_INFO split, so the handler could not tell a
//     stripped path from an unstripped one.
//
// The prefix is normalised with NormalizePrefix; an empty prefix returns
// next unchanged. r.URL is changed in place; the request is copied once
// (http.Request.WithContext) to carry the prefix in its context.
func StripPrefix(next http.Handler, prefix string) (http.Handler, error) {
	p, err := NormalizePrefix(prefix)
	if err != nil {
		return nil, err
	}
	if p == "" {
		return next, nil
	}
	return &prefixHandler{next: next, prefix: p, value: p}, nil
}

type prefixHandler struct {
	next   http.Handler
	prefix string
	value  any // prefix, boxed once rather than per request
}

type prefixKey struct{}

func (h *prefixHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	switch {
	case ok && rest == "":
		h.redirect(w, r)
		return
	case !ok || rest[0] != '/':
		http.NotFound(w, r)
		return
	}
	rawRest := ""
	if r.URL.RawPath != "" {
		// The prefix has no escapes, so the escaped path starts with it too
		// unless the client escaped characters inside it.
		if rawRest, ok = strings.CutPrefix(r.URL.RawPath, h.prefix); !ok || rawRest == "" || rawRest[0] != '/' {
			http.NotFound(w, r)
			return
		}
	}
	r.URL.Path, r.URL.RawPath = rest, rawRest
	h.next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), prefixKey{}, h.value)))
}

func (h *prefixHandler) redirect(w http.ResponseWriter, r *http.Request) {
	target := h.prefix + "/"
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	code := http.StatusPermanentRedirect
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		code = http.StatusMovedPermanently
	}
	http.Redirect(w, r, target, code)
}

// URLPrefix returns the prefix StripPrefix removed from the request's
// path (Waitress's SCRIPT_NAME), or "" if there was none. Handlers build
// links with it: URLPrefix(r) + "/login".
func URLPrefix(r *http.Request) string {
	p, _ := r.Context().Value(prefixKey{}).(string)
	return p
}

// Scheme returns the scheme the client used: r.URL.Scheme as Handler sets
// it from a trusted X-Forwarded-Proto or Forwarded proto=, "https" for a
// TLS connection, "http" otherwise. Handler sets only r.URL.Scheme for a
// forwarded scheme; r.TLS stays nil, since there is no TLS state to
// report. The scheme of an absolute-form target ("GET https://host/ ...",
// which sets r.URL.Host too) is the client's claim and is not believed;
// proxies send origin-form targets.
func Scheme(r *http.Request) string {
	if r.URL != nil && r.URL.Scheme != "" && r.URL.Host == "" {
		return r.URL.Scheme
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// Port returns the port the client connected to, as far as the request
// says: the port in r.Host (which Handler sets from a trusted forwarded
// host or port), or the default port of Scheme(r).
func Port(r *http.Request) string {
	if _, port, ok := splitHost(r.Host); ok && port != "" {
		return port
	}
	return defaultPort(Scheme(r))
}
