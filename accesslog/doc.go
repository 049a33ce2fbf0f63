// Package accesslog is carhop's access log: one record per request, in
// Common Log Format, Combined Log Format, or as structured attributes
// through log/slog (JSON with [JSON]).
//
// It is ordinary net/http middleware. The record is written when the
// handler returns and holds the status and body bytes the handler sent,
// the time it took, the peer (r.RemoteAddr as it stands then, so a
// trusted proxy's client address when composed with package proxy, in
// either order, since proxy rewrites the request in place), method,
// request target as the client sent it (r.RequestURI), protocol, Referer
// and User-Agent.
//
// The ResponseWriter it hands the handler keeps what the server's writer
// offers: http.Flusher, http.Hijacker, io.ReaderFrom, io.StringWriter, and
// Unwrap for http.ResponseController (deadlines, full duplex).
// Informational (1xx) responses pass through and are not the logged
// status. A hijacked connection is logged with the status written before
// Hijack, or 101 Switching Protocols if none was, and the bytes written
// through the ResponseWriter before it; what the handler then writes to
// the connection is its own business. A handler that panics is logged
// with its status, or 500 if it had written none, and the panic goes on.
//
// Ownership: the middleware owns its writer wrapper and the output's
// lock; it reads the request after the handler returns, never its body,
// and changes neither the request nor the response.
package accesslog
