package adapter

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cloudflare/tableflip"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/channel/buffers"
	"github.com/carhop/carhop/loop"
	"github.com/carhop/carhop/task"
)

// Server serves one http.Handler on carhop's event loops.
type Server struct {
	handler http.Handler
	cfg     config
	pool    *task.Pool
	loop    *loop.Server
	sockets *sockets
	date    dateCache
	memory  *buffers.Memory // WithBufferMemory's budget, for Stats

	stopOnce sync.Once
	stopped  chan struct{} // closed once Shutdown or Close has stopped the server (its engine, if Serve began)

	// begun is set by Serve unless a Shutdown or Close came first, under
	// beginMu: a stop before Serve has no loop to wait for.
	beginMu sync.Mutex
	begun   bool

	// draining is set when Shutdown begins, before the loop marks or
	// closes any channel, so that a response the drain overtakes on its
	// way to its channel still says "Connection: close". The Shutdown
	// that sets it runs the hooks.
	draining atomic.Bool
	// noKeepAlive is SetKeepAlivesEnabled(false): every response closes.
	noKeepAlive atomic.Bool

	hooksMu    sync.Mutex
	onShutdown []func()

	hijacks hijacks // hijacked connections still open (hijack.go)

	stayed atomic.Bool // warnStayed has warned
}

// New configures a server for h; Serve starts it. A nil h is
// http.DefaultServeMux, as in net/http.
func New(h http.Handler, opts ...Option) (*Server, error) {
	if h == nil {
		h = http.DefaultServeMux
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	cfg.baseContext = withServer(cfg.baseContext, cfg.httpServer(h))
	h, err := cfg.proxy.wrap(h, cfg.logger) // proxy headers, URL prefix, access log (proxy_options.go)
	if err != nil {
		return nil, err
	}
	socks, err := newSockets(&cfg, cfg.restart.enabled)
	if err != nil {
		return nil, err
	}
	s := &Server{handler: h, cfg: cfg, sockets: socks, stopped: make(chan struct{})}
	s.pool = task.New(cfg.threads, task.WithLogger(cfg.logger))
	ch := cfg.channelConfig()
	s.memory = ch.Memory
	ch.NewRequest = s.newRequest
	ch.Cancel = cancelRequest
	ch.Serve = s.serve
	ch.ErrorResponse = s.errorResponse
	ch.Trailers = setTrailers
	ch.Submit = s.pool.SubmitTask
	s.loop = loop.New(loop.Config{
		Addrs:           socks.gnetAddr,
		Adopt:           socks.adopt,
		Loops:           cfg.loops,
		ConnectionLimit: cfg.connectionLimit,
		// A worker may hold a file or a backend connection of the
		// handler's while it runs.
		Reserve: cfg.threads,
		Timeouts: channel.Timeouts{
			Idle:    cfg.channelTimeout,
			Request: cfg.requestTimeout,
			Write:   cfg.writeTimeout,
		},
		CleanupInterval: cfg.cleanupInterval,
		Sweep:           s.hijacks.sweep,
		ReusePort:       cfg.reusePort,
		Channel:         ch,
		Logger:          cfg.logger,
	})
	return s, nil
}

// Serve listens and serves until Shutdown or Close, then returns
// http.ErrServerClosed (at once, listening on nothing, if one of them came
// first); any other error means the listeners could not be set up, or
// that Serve had been called before: a Server serves once.
func (s *Server) Serve() error {
	if err := s.begin(); err != nil {
		return err
	}
	return s.runLoop()
}

// runLoop is Serve once begun.
func (s *Server) runLoop() error {
	err := s.loop.Run()
	select {
	case <-s.stopped:
		return http.ErrServerClosed
	default:
	}
	if err == nil {
		err = errors.New("carhop: event loops stopped unexpectedly")
	}
	s.pool.Close() //nolint:errcheck // Close only reports double closes
	return err
}

// Ready is closed once the listeners are bound, or binding failed, or
// the server was stopped before Serve.
func (s *Server) Ready() <-chan struct{} { return s.loop.Ready() }

// Addrs returns the bound addresses once listening (after Ready), with
// ports chosen for ":0" filled in, in the order of WithListen (a systemd
// spec gives each of its sockets) followed by the WithListener listeners;
// nil before.
func (s *Server) Addrs() []net.Addr {
	select {
	case <-s.loop.Ready():
		return s.sockets.order(s.loop.Addrs())
	default:
		return nil
	}
}

// Shutdown stops accepting connections, lets queued and running requests
// finish and their responses reach the clients, closes idle connections,
// and then stops. If ctx ends first, the remaining connections are closed
// and ctx's error returned.
//
// A handler that hijacked its connection (a websocket) is a running
// request like any other, and Shutdown waits for it to return; net/http
// leaves such connections alone. RegisterOnShutdown is how to tell them
// to end.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.draining.Swap(true) {
		s.hooksMu.Lock()
		for _, f := range s.onShutdown {
			go f()
		}
		s.hooksMu.Unlock()
	}
	if s.stopUnbegun() {
		return nil
	}
	<-s.loop.Ready()
	err := s.loop.Drain(ctx)
	if perr := s.pool.Shutdown(ctx); err == nil {
		err = perr // else the same ctx.Err()
	}
	return errors.Join(err, s.stop())
}

// SetKeepAlivesEnabled turns keep-alive on or off, as http.Server's does;
// it is on by default. Off, every response says "Connection: close" and
// ends its connection, and connections with no request in progress are
// closed now (those that have sent nothing yet keep a few seconds for
// their first request), while new connections are still accepted: for a
// server leaving a load balancer's rotation before it stops. On again,
// responses keep their connections from then on; a connection marked
// while it was off still closes when next idle.
func (s *Server) SetKeepAlivesEnabled(v bool) {
	s.noKeepAlive.Store(!v)
	if !v && s.loop != nil && s.loop.Started() {
		s.loop.CloseIdle()
	}
}

// RegisterOnShutdown registers a function for Shutdown to call, on a
// goroutine of its own, when a drain begins, as net/http's does: it
// should start ending long-lived connections its handlers hijacked (send
// a websocket close frame, say) and not wait for them. Close calls none.
func (s *Server) RegisterOnShutdown(f func()) {
	s.hooksMu.Lock()
	defer s.hooksMu.Unlock()
	s.onShutdown = append(s.onShutdown, f)
}

// Close stops at once: connections are closed, queued requests dropped and
// running handlers see their request contexts cancelled.
func (s *Server) Close() error {
	if s.stopUnbegun() {
		return nil
	}
	<-s.loop.Ready()
	err := s.stop()
	s.pool.Close() //nolint:errcheck // Close only reports double closes
	return err
}

// begin lets Serve or Run start, unless the server was stopped before it
// or served already: its listeners and loops are made once, at New.
func (s *Server) begin() error {
	s.beginMu.Lock()
	defer s.beginMu.Unlock()
	select {
	case <-s.stopped:
		return http.ErrServerClosed
	default:
	}
	if s.begun {
		return errors.New("carhop: Serve called twice: a Server serves once (Serve or Run)")
	}
	s.begun = true
	return nil
}

// stopUnbegun stops a server whose Serve has not begun, and reports
// whether it did: there is no loop to stop, only the workers New started
// and the listeners WithListener gave, which Serve would have closed.
func (s *Server) stopUnbegun() bool {
	s.beginMu.Lock()
	defer s.beginMu.Unlock()
	if s.begun {
		return false
	}
	s.stopUnserved()
	return true
}

// abandon stops a server whose Run failed after begin but before it
// served, as if stopped before Serve. beginMu not held.
func (s *Server) abandon() {
	s.beginMu.Lock()
	defer s.beginMu.Unlock()
	s.begun = false
	s.stopUnserved()
}

// stopUnserved is stopUnbegun's work. beginMu held.
func (s *Server) stopUnserved() {
	s.stopOnce.Do(func() {
		close(s.stopped)
		s.loop.Forgo()
		for _, ln := range s.sockets.given {
			_ = ln.Close()
		}
	})
	s.pool.Close() //nolint:errcheck // Close only reports double closes
}

func (s *Server) stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.stopped)
		err = s.loop.Stop(context.Background())
	})
	return err
}

// Serve runs h (http.DefaultServeMux if nil, as for http.ListenAndServe)
// until SIGINT or SIGTERM, then shuts down gracefully within the shutdown
// timeout (WithShutdownTimeout); a second SIGINT or SIGTERM stops at
// once. With WithGracefulRestart, SIGHUP starts a new process that takes
// over the listening sockets, and this one drains and returns nil once
// the new one is ready. It listens on 0.0.0.0:8080 unless told otherwise.
// It is New and then Server.Run.
//
// Serve returns nil after a complete drain. When the grace period ran out
// the error wraps context.DeadlineExceeded, and after a second signal
// context.Canceled: connections were cut, so a main that exits non-zero
// on error tells its supervisor. docs/operations.md lists the signals.
//
// Under systemd with Type=notify (NOTIFY_SOCKET set), Serve reports
// READY=1 once it serves, RELOADING=1 when a graceful restart begins (the
// new process reports READY=1 and its PID as MAINPID), and STOPPING=1
// when a signal stops it.
func Serve(h http.Handler, opts ...Option) error {
	s, err := New(h, opts...)
	if err != nil {
		return err
	}
	return s.Run()
}

// Run serves as the function Serve does, signals, graceful restart and
// all, for a server made with New: one whose handler needs the Server
// (its StatsHandler, say) before it serves. Call it once, instead of
// Server.Serve.
func (s *Server) Run() error {
	// Claimed before anything else: a Run that cannot serve (a second
	// one, or after a stop) must not log, notify systemd, write or
	// remove the PID file, or make an upgrader for a server that runs.
	if err := s.begin(); err != nil {
		return err
	}
	log := s.cfg.logger
	watch := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	var upg *tableflip.Upgrader
	if s.cfg.restart.enabled {
		var err error
		if upg, err = s.newUpgrader(); err != nil {
			s.abandon()
			return err
		}
		defer upg.Stop()
		watch = append(watch, syscall.SIGHUP)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, watch...)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- s.runLoop() }()
	<-s.Ready()
	if !s.loop.Started() {
		return <-served
	}
	for _, a := range s.Addrs() {
		log.Info("carhop: serving", "addr", a.String(), "pid", os.Getpid())
	}
	s.notifyReady() // before a predecessor is told to go: systemd follows this process
	var exit <-chan struct{}
	switch {
	case upg != nil:
		if err := upg.Ready(); err != nil { // tells the previous process, if any, to drain
			log.Error("carhop: graceful restart", "err", err)
		}
		exit = upg.Exit()
	case s.cfg.restart.pidFile != "":
		if err := writePIDFile(s.cfg.restart.pidFile); err != nil {
			log.Error("carhop: cannot write PID file", "err", err)
		}
	}
	if s.cfg.restart.pidFile != "" {
		defer removePIDFile(s.cfg.restart.pidFile)
	}

wait:
	for {
		select {
		case err := <-served:
			return err
		case <-exit:
			log.Info("carhop: replaced by a new process, draining", "grace", s.cfg.shutdownTimeout)
			exit = nil         // the new process owns the sockets now,
			s.loop.Succeeded() // and what is queued on them
			break wait
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Info("carhop: restarting", "signal", sig.String())
				s.notifyReloading()
				go func() {
					if err := upg.Upgrade(); err != nil {
						log.Error("carhop: restart failed; carrying on", "err", err)
						s.notifyReady()
					}
				}()
				continue
			}
			log.Info("carhop: shutting down", "signal", sig.String(), "grace", s.cfg.shutdownTimeout)
			s.notifyStopping()
			break wait
		}
	}
	if upg != nil && exit != nil {
		// The last process: tableflip's copies of the sockets, kept for
		// a restart that will not come now, would hold them open through
		// the drain, queueing clients that no one accepts until the
		// process exits and resets them. Closed, a new client is refused
		// at once, and what was queued is taken by the drain.
		upg.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	defer cancel()
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig != syscall.SIGHUP {
					log.Warn("carhop: second signal, closing now", "signal", sig.String())
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	err := s.Shutdown(ctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if upg != nil && exit != nil {
		// The last process: tableflip would unlink the Unix sockets
		// carhop made, but in its own goroutine, which may not run
		// before the process exits.
		s.sockets.removeUnixFiles()
	}
	if err != nil {
		return fmt.Errorf("carhop: shutdown: %w", err)
	}
	log.Info("carhop: drained, exiting")
	return nil
}
