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
