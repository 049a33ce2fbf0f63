// Package proxy puts a carhop server behind a reverse proxy, as Waitress's
// trusted_proxy, trusted_proxy_count, trusted_proxy_headers,
// clear_untrusted_proxy_headers, log_untrusted_proxy_headers and url_prefix
// settings do, as ordinary net/http middleware.
//
// # Trust
//
// Proxy headers (Forwarded, X-Forwarded-For, -Host, -Proto, -Port, -By)
// are believed only when the TCP peer is a trusted proxy
// (Config.TrustedProxies), only the headers that proxy is known to set
// (Config.TrustedHeaders), and only as many hops as there are proxies
// (Config.TrustedCount), counted from the right: every proxy appends to
// X-Forwarded-For and Forwarded, so the entries on the left may be
// anything a client made up. Of the believed entries, the oldest
// describes the client.
//
// From a trusted peer, [Handler] sets:
//
//   - r.RemoteAddr to the client's "ip:port" (netip.AddrPort form,
//     "[v6]:port" for IPv6). A client address without a port, which is the
//     usual case, gets port 0: "192.0.2.1:0", so that net.SplitHostPort
//     and netip.ParseAddrPort keep working. "unknown" and obfuscated
//     Forwarded identifiers ("_hidden") leave r.RemoteAddr as it was.
//   - r.URL.Scheme to "http" or "https" from X-Forwarded-Proto or
//     Forwarded proto=. r.TLS stays nil: there is no TLS state to show.
//     [Scheme] reads the result.
//   - r.Host from X-Forwarded-Host or Forwarded host=, with the port
//     folded in as Waitress folds it into HTTP_HOST: the forwarded host's
//     own port wins, else X-Forwarded-Port unless it is the scheme's
//     default. A forwarded port without a forwarded host replaces the
//     port of r.Host. [Port] reads the result.
//
// Everything is validated before anything is changed; a believed header
// that does not parse (an address that is not an IP, a proto other than
// http and https, a port outside 1-65535, a bad host, broken Forwarded
// syntax, a repeated Forwarded parameter, more than one X-Forwarded-Proto
// or -Port value) gets 400 Bad Request with a short body naming the header
// and the reason, and one log record with the value. Trusting Forwarded
// together with X-Forwarded-* is refused when the configuration is
// compiled, as Waitress's adjustments refuse it.
//
// Untrusted proxy headers are removed from r.Header (unless
// Config.KeepUntrustedHeaders), and believed X-Forwarded-For,
// X-Forwarded-Host and Forwarded are cut down to the believed entries, as
// Waitress 3.0.2 does, so that a handler reading them directly cannot be
// fooled either.
//
// # URL prefix
//
// [StripPrefix] is Waitress's url_prefix: the application is mounted
// under a path prefix the proxy does not remove. [URLPrefix] returns the
// prefix to handlers, from the request's context.
//
// # Ownership
//
// The middleware owns nothing but its immutable configuration and is safe
// for concurrent use. It changes the request it is given in place
// (RemoteAddr, Host, URL, Header), which is why it must run before any
// handler that reads them; it never touches the response except to refuse
// a request, never reads the body, and knows nothing of carhop's channels,
// loops or workers: it works the same under net/http.
package proxy
