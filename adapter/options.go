package adapter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/parser"
	"github.com/carhop/carhop/task"
)

// Option configures a Server. The options follow Waitress's settings; the
// table in docs/operations.md lists each with its default and reason.
type Option func(*config) error

type config struct {
	listen          []string
	threads         int
	loops           int
	connectionLimit int
	channelTimeout  time.Duration
	requestTimeout  time.Duration
	writeTimeout    time.Duration
	cleanupInterval time.Duration
	shutdownTimeout time.Duration
	limits          parser.Limits
	inbufOverflow   int
	outbufOverflow  int
	outbufHigh      int64
	bufferMemory    int64
	ident           string
	tempDir         string
	reusePort       bool
	generalOptions  bool
	logger          *slog.Logger
	baseContext     context.Context                                 // WithBaseContext's; New adds the *http.Server (httpserver.go)
	connState       func(net.Conn, http.ConnState)                  // connstate.go
	connContext     func(context.Context, net.Conn) context.Context // connstate.go
	files           *buffers.Descriptors                            // the descriptor budget; nil: the loop plans it from RLIMIT_NOFILE (tests set it)
	sockets         socketConfig                                    // listeners.go
	restart         restartConfig                                   // restart.go

	// Behind a proxy and access log: options and middleware in proxy_options.go.
	proxy proxyConfig
}

// Defaults, documented in docs/operations.md.
const (
	DefaultListen          = "0.0.0.0:8080"
	DefaultConnectionLimit = 10000
	DefaultChannelTimeout  = 120 * time.Second
	DefaultRequestTimeout  = 30 * time.Second
	DefaultCleanupInterval = time.Second
	DefaultShutdownTimeout = 30 * time.Second
	DefaultIdent           = "carhop"
	// DefaultBufferMemory is WithBufferMemory's default: 256 such
	// responses held at their WithOutbufOverflow of 1 MiB, and far more
	// than fast clients keep waiting at once.
	DefaultBufferMemory = 256 << 20
)

// lingerTimeout bounds how long a connection closed after a refused
// request (400, 413, ...) goes on reading and discarding the client's
// input, so that the client reads the error instead of a reset. A client
// that reads its response and closes ends it at once; NGINX's
// lingering_time is 30 s, net/http waits 0.5 s.
const lingerTimeout = 5 * time.Second

func defaultConfig() config {
	return config{
		threads:         task.DefaultThreads,
		connectionLimit: DefaultConnectionLimit,
		channelTimeout:  DefaultChannelTimeout,
		requestTimeout:  DefaultRequestTimeout,
		writeTimeout:    DefaultChannelTimeout,
		cleanupInterval: DefaultCleanupInterval,
		shutdownTimeout: DefaultShutdownTimeout,
		ident:           DefaultIdent,
		bufferMemory:    DefaultBufferMemory,
		generalOptions:  true,
		logger:          slog.Default(),
	}
}

// WithListen sets the addresses to listen on: "host:port", "[::1]:port"
// (IPv6 only), ":0" (any free port; see Server.Addrs), "unix:/path/to/socket"
// (see WithUnixSocketPerms), "fd:N" (a listening socket inherited as
// descriptor N) or "systemd" / "systemd:name" (socket activation). Default
// 0.0.0.0:8080, or the systemd sockets when systemd passed some and
// neither WithListen nor WithListener is given.
func WithListen(addrs ...string) Option {
	return func(c *config) error {
		if len(addrs) == 0 {
			return fmt.Errorf("carhop: WithListen needs at least one address")
		}
		c.listen = addrs
		return nil
	}
}

// WithThreads sets the number of worker goroutines that run handlers
// (Waitress threads). Default task.DefaultThreads. A handler that
// flushes (a stream of server-sent events) or hijacks (a websocket)
// stops counting against them and, once a request needs its worker, goes
// on beside them on a goroutine of its own, as on net/http; one that
// waits without flushing (a long poll) keeps its worker unless it calls
// ReleaseWorker.
func WithThreads(n int) Option {
	return positive("WithThreads", n, func(c *config) { c.threads = n })
}

// WithEventLoops sets the number of gnet event loops. Default half of
// GOMAXPROCS, at least one ([github.com/carhop/carhop/loop.DefaultLoops]
// says why): the loops only move bytes and parse, the workers on the
// other Ps run the handlers.
func WithEventLoops(n int) Option {
	return positive("WithEventLoops", n, func(c *config) { c.loops = n })
}

// WithConnectionLimit bounds simultaneous connections (Waitress
// connection_limit), hijacked ones included until they are closed; past
// it a new connection gets 503 and is closed. Default 10,000, lowered
// with a warning where the process's descriptor limit (RLIMIT_NOFILE)
// cannot hold it (docs/operations.md, "Descriptors").
func WithConnectionLimit(n int) Option {
	return positive("WithConnectionLimit", n, func(c *config) { c.connectionLimit = n })
}

// WithChannelTimeout closes a connection that has been idle this long
// (Waitress channel_timeout), and one whose client has not taken any of
// its response for this long. Default 120s.
func WithChannelTimeout(d time.Duration) Option {
	return positiveDuration("WithChannelTimeout", d, func(c *config) { c.channelTimeout, c.writeTimeout = d, d })
}

// WithRequestTimeout answers 408 when a request head has been arriving for
// this long without being complete, so that slow clients cannot hold
// connections. Default 30s.
func WithRequestTimeout(d time.Duration) Option {
	return positiveDuration("WithRequestTimeout", d, func(c *config) { c.requestTimeout = d })
}

// WithCleanupInterval sets how often timeouts are checked (Waitress
// cleanup_interval). Default 1s.
func WithCleanupInterval(d time.Duration) Option {
	return positiveDuration("WithCleanupInterval", d, func(c *config) { c.cleanupInterval = d })
}

// WithShutdownTimeout bounds the graceful drain that Serve performs on
// SIGINT or SIGTERM. Default 30s.
func WithShutdownTimeout(d time.Duration) Option {
	return positiveDuration("WithShutdownTimeout", d, func(c *config) { c.shutdownTimeout = d })
}

// WithMaxRequestHeaderSize bounds a request head (Waitress
// max_request_header_size). Default 256 KiB, at most 512 MiB
// (parser.MaxHeadLimit).
func WithMaxRequestHeaderSize(n int) Option {
	return func(c *config) error {
		if n <= 0 || n > parser.MaxHeadLimit {
			return fmt.Errorf("carhop: WithMaxRequestHeaderSize(%d): must be positive and at most %d", n, parser.MaxHeadLimit)
		}
		c.limits.MaxHeaderBytes = n
		return nil
	}
}

// WithMaxRequestBodySize bounds a request body (Waitress
// max_request_body_size). Default 1 GiB.
func WithMaxRequestBodySize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("carhop: WithMaxRequestBodySize(%d): must be positive", n)
		}
		c.limits.MaxBodyBytes = n
		return nil
	}
}

// WithLimits sets every parser limit at once; zero fields keep defaults.
// MaxHeaderBytes and MaxTrailerBytes may be at most parser.MaxHeadLimit.
func WithLimits(l parser.Limits) Option {
	return func(c *config) error {
		if l.MaxHeaderBytes > parser.MaxHeadLimit || l.MaxTrailerBytes > parser.MaxHeadLimit {
			return fmt.Errorf("carhop: WithLimits: MaxHeaderBytes (%d) and MaxTrailerBytes (%d) must be at most %d",
				l.MaxHeaderBytes, l.MaxTrailerBytes, parser.MaxHeadLimit)
		}
		c.limits = l
		return nil
	}
}

// WithInbufOverflow sets how much of a request body stays in memory before
// the rest goes to a temporary file (Waitress inbuf_overflow). Default
// 512 KiB.
func WithInbufOverflow(n int) Option {
	return positive("WithInbufOverflow", n, func(c *config) { c.inbufOverflow = n })
}

// WithOutbufOverflow sets how much response output waits in memory before
// the rest goes to a temporary file (Waitress outbuf_overflow). Default
// 1 MiB.
func WithOutbufOverflow(n int) Option {
	return positive("WithOutbufOverflow", n, func(c *config) { c.outbufOverflow = n })
}

// WithOutbufHighWatermark sets how much output may wait for a slow client
// before the handler writing it is paused (Waitress
// outbuf_high_watermark). Default 16 MiB. A file sent from the file
// (http.ServeContent) does not count: it takes no memory or disk.
func WithOutbufHighWatermark(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("carhop: WithOutbufHighWatermark(%d): must be positive", n)
		}
		c.outbufHigh = n
		return nil
	}
}

// WithBufferMemory sets how many request-body and response bytes all
// connections together keep in memory (carhop's own; Waitress has no
// such setting). WithInbufOverflow and WithOutbufOverflow bound what one
// connection keeps; this bounds what many slow clients can make the
// server hold together: past it, bodies and output go to temporary files
// as if past their overflow, each connection keeping at most 32 KiB
// (buffers.MemoryFloor) of each in memory. Output handed to the event
// loop's socket layer and not yet taken by the socket counts as well (up
// to 128 KiB a slow client; 32 KiB while the budget is spent). Requests
// read ahead of the one being served (pipelined), the input left unread
// behind them and heads and trailer sections still arriving count too:
// past the budget a connection reads one request ahead, a client that
// leaves more than 64 KiB unread is disconnected (Stats.CutOff), and one
// whose head or trailer section passes 16 KiB before it ends gets 503.
// Default 256 MiB.
func WithBufferMemory(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("carhop: WithBufferMemory(%d): must be positive", n)
		}
		c.bufferMemory = n
		return nil
	}
}

// WithIdent sets the Server header (Waitress ident); "" sends none.
// Default "carhop".
func WithIdent(s string) Option {
	return func(c *config) error {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("carhop: WithIdent: CR or LF in %q", s)
		}
		c.ident = s
		return nil
	}
}

// WithTempDir sets where spilled bodies and output go. Default os.TempDir.
func WithTempDir(dir string) Option {
	return func(c *config) error { c.tempDir = dir; return nil }
}

// WithReusePort sets SO_REUSEPORT on the listeners, so that several
// processes can serve one port.
func WithReusePort(on bool) Option {
	return func(c *config) error { c.reusePort = on; return nil }
}

// WithGeneralOptionsHandler sets whether the server itself answers
// "OPTIONS *" (200, empty), as net/http does by default. With false the
// request goes to the handler, as with net/http's
// DisableGeneralOptionsHandler. Default true.
func WithGeneralOptionsHandler(on bool) Option {
	return func(c *config) error { c.generalOptions = on; return nil }
}

// WithLogger sets the logger for the server and its parts. Default
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("carhop: WithLogger(nil)")
		}
		c.logger = l
		return nil
	}
}

// WithBaseContext sets the context every request's context derives from,
// as http.Server's BaseContext does: r.Context() carries its values and
// its deadline, and is cancelled when it is (so cancelling it ends every
// request in flight), on top of ending when the client goes away or the
// handler returns. One context serves all listeners. Default none, as
// context.Background(). Either way r.Context() also holds, as under
// net/http, an *http.Server under http.ServerContextKey, which describes
// carhop's settings (docs/design.md).
func WithBaseContext(ctx context.Context) Option {
	return func(c *config) error {
		if ctx == nil {
			return fmt.Errorf("carhop: WithBaseContext(nil)")
		}
		c.baseContext = ctx
		return nil
	}
}

func positive(name string, n int, set func(*config)) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("carhop: %s(%d): must be positive", name, n)
		}
		set(c)
		return nil
	}
}

func positiveDuration(name string, d time.Duration, set func(*config)) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("carhop: %s(%v): must be positive", name, d)
		}
		set(c)
		return nil
	}
}

func (c *config) channelConfig() channel.Config {
	cfg := channel.Config{
		Limits:              c.limits,
		InbufOverflow:       c.inbufOverflow,
		OutbufOverflow:      c.outbufOverflow,
		OutbufHighWatermark: c.outbufHigh,
		TempDir:             c.tempDir,
		Files:               c.files,
		Memory:              buffers.NewMemory(c.bufferMemory),
		Logger:              c.logger,
		Linger:              lingerTimeout,
	}
	if c.connState != nil {
		cfg.ConnState = reportConnState(c.connState)
	}
	if c.connContext != nil {
		cfg.ConnValue = c.newConnContext
	}
	return cfg
}
