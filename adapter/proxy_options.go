package adapter

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/carhop/carhop/accesslog"
	"github.com/carhop/carhop/proxy"
)

// proxyConfig holds the settings of the options in this file; it is the
// block of fields marked in config (options.go).
type proxyConfig struct {
	proxy      proxy.Config
	proxyOn    bool // a trusted proxy or header clearing was asked for
	urlPrefix  string
	accessLog  io.Writer
	accessFmt  accesslog.Format
	accessSlog *slog.Logger
}

// WithTrustedProxy sets the peers whose proxy headers are believed
// (Waitress trusted_proxy): IP addresses, CIDR prefixes ("10.0.0.0/8"),
// "*" for any peer, "unix" for clients on a Unix socket; several calls add
// up. It needs WithTrustedProxyHeaders. Default: none, and proxy headers are passed to
// the handler untouched unless WithClearUntrustedProxyHeaders(true).
func WithTrustedProxy(addrs ...string) Option {
	return func(c *config) error {
		if len(addrs) == 0 {
			return fmt.Errorf("carhop: WithTrustedProxy needs at least one address")
		}
		c.proxy.proxy.TrustedProxies = append(c.proxy.proxy.TrustedProxies, addrs...)
		c.proxy.proxyOn = true
		return nil
	}
}

// WithTrustedProxyCount sets how many proxies are chained in front of the
// server (Waitress trusted_proxy_count): how many X-Forwarded-For or
// Forwarded entries, from the right, are believed. Default 1.
func WithTrustedProxyCount(n int) Option {
	return positive("WithTrustedProxyCount", n, func(c *config) { c.proxy.proxy.TrustedCount = n })
}

// WithTrustedProxyHeaders names the headers the trusted proxy sets
// (Waitress trusted_proxy_headers): "forwarded", or any of
// "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
// "x-forwarded-port", "x-forwarded-by"; several calls add up. Required
// with WithTrustedProxy;
// Forwarded cannot be trusted together with the X-Forwarded-* headers.
func WithTrustedProxyHeaders(names ...string) Option {
	return func(c *config) error {
		c.proxy.proxy.TrustedHeaders = append(c.proxy.proxy.TrustedHeaders, names...)
		return nil
	}
}

// WithClearUntrustedProxyHeaders says whether proxy headers that are not
// believed are removed before the handler sees them (Waitress
// clear_untrusted_proxy_headers). Default true once WithTrustedProxy is
// given. WithClearUntrustedProxyHeaders(true) without a trusted proxy
// removes them from every request: right for a server that faces clients
// directly and whose handlers read X-Forwarded-For.
func WithClearUntrustedProxyHeaders(on bool) Option {
	return func(c *config) error {
		c.proxy.proxy.KeepUntrustedHeaders = !on
		if on {
			c.proxy.proxyOn = true
		}
		return nil
	}
}

// WithLogUntrustedProxyHeaders logs a warning for each request whose
// untrusted proxy headers were removed (Waitress
// log_untrusted_proxy_headers). Default off.
func WithLogUntrustedProxyHeaders(on bool) Option {
	return func(c *config) error { c.proxy.proxy.LogUntrustedHeaders = on; return nil }
}

// WithURLPrefix mounts the application under a path prefix that the proxy
// does not strip (Waitress url_prefix): "/app/x" reaches the handler as
// "/x", "/app" is redirected to "/app/", anything else is 404.
// proxy.URLPrefix(r) returns the prefix. Default none.
func WithURLPrefix(prefix string) Option {
	return func(c *config) error {
		p, err := proxy.NormalizePrefix(prefix)
		if err != nil {
			return fmt.Errorf("carhop: WithURLPrefix: %w", err)
		}
		c.proxy.urlPrefix = p
		return nil
	}
}

// WithAccessLog writes one line per request to w in format f
// (accesslog.Common, accesslog.Combined or accesslog.JSON). Default none.
func WithAccessLog(w io.Writer, f accesslog.Format) Option {
	return func(c *config) error {
		if w == nil {
			return fmt.Errorf("carhop: WithAccessLog: nil writer")
		}
		if _, err := accesslog.ParseFormat(f.String()); err != nil {
			return fmt.Errorf("carhop: WithAccessLog: %w", err)
		}
		c.proxy.accessLog, c.proxy.accessFmt, c.proxy.accessSlog = w, f, nil
		return nil
	}
}

// WithAccessLogger sends one Info record per request to l, with the
// attributes accesslog.JSON lists, in whatever form l's handler writes.
// Default none.
func WithAccessLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("carhop: WithAccessLogger(nil)")
		}
		c.proxy.accessSlog, c.proxy.accessLog = l, nil
		return nil
	}
}

// wrap puts the handler behind the configured middleware, outermost
// first: access log, proxy headers, URL prefix. The access log is outside
// so that it also records the 400s and 404s of the other two; it reads the
// request after they ran, and the proxy middleware rewrites the request in
// place, so the logged address is the client's.
func (p *proxyConfig) wrap(h http.Handler, logger *slog.Logger) (http.Handler, error) {
	h, err := proxy.StripPrefix(h, p.urlPrefix)
	if err != nil {
		return nil, fmt.Errorf("carhop: %w", err)
	}
	if p.proxyOn || len(p.proxy.TrustedHeaders) > 0 || p.proxy.TrustedCount > 0 {
		cfg := p.proxy
		cfg.Logger = logger
		if h, err = proxy.Handler(h, cfg); err != nil {
			return nil, fmt.Errorf("carhop: %w", err)
		}
	}
	switch {
	case p.accessSlog != nil:
		h = accesslog.SlogHandler(h, p.accessSlog)
	case p.accessLog != nil:
		h = accesslog.Handler(h, p.accessLog, p.accessFmt)
	}
	return h, nil
}
