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
	"syscall"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/loop"
	"github.com/carhop/carhop/task"
)

// Server serves one http.Handler on carhop's event loops.
type Server struct {
	handler http.Handler
	cfg     config
	pool    *task.Pool
	loop    *loop.Server
	date    dateCache

	stopOnce sync.Once
	stopped  chan struct{} // closed once Shutdown or Close has stopped the engine
}

// New configures a server for h; Serve starts it.
func New(h http.Handler, opts ...Option) (*Server, error) {
	if h == nil {
		return nil, errors.New("carhop: nil handler")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	h, err := cfg.proxy.wrap(h, cfg.logger) // proxy headers, URL prefix, access log (proxy_options.go)
	if err != nil {
		return nil, err
	}
	addrs := make([]string, 0, len(cfg.listen))
	for _, a := range cfg.listen {
		g, err := gnetAddr(a)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, g)
	}
	s := &Server{handler: h, cfg: cfg, stopped: make(chan struct{})}
	s.pool = task.New(cfg.threads, task.WithLogger(cfg.logger))
	ch := cfg.channelConfig()
	ch.NewRequest = s.newRequest
	ch.Cancel = cancelRequest
	ch.Serve = s.serve
	ch.ErrorResponse = s.errorResponse
	ch.Trailers = setTrailers
	ch.Submit = s.pool.Submit
	s.loop = loop.New(loop.Config{
		Addrs:           addrs,
		Loops:           cfg.loops,
		ConnectionLimit: cfg.connectionLimit,
		Timeouts: channel.Timeouts{
			Idle:    cfg.channelTimeout,
			Request: cfg.requestTimeout,
			Write:   cfg.writeTimeout,
		},
		CleanupInterval: cfg.cleanupInterval,
		ReusePort:       cfg.reusePort,
		Channel:         ch,
		Logger:          cfg.logger,
	})
	return s, nil
}

// Serve listens and serves until Shutdown or Close, then returns
// http.ErrServerClosed; any other error means the listeners could not be
// set up.
func (s *Server) Serve() error {
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

// Ready is closed once the listeners are bound, or binding failed.
func (s *Server) Ready() <-chan struct{} { return s.loop.Ready() }

// Addrs returns the bound addresses once listening (after Ready), with
// ports chosen for ":0" filled in; nil before.
func (s *Server) Addrs() []net.Addr {
	select {
	case <-s.loop.Ready():
		return s.loop.Addrs()
	default:
		return nil
	}
}

// Shutdown stops accepting connections, lets queued and running requests
// finish and their responses reach the clients, closes idle connections,
// and then stops. If ctx ends first, the remaining connections are closed
// and ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	<-s.loop.Ready()
	drainErr := s.loop.Drain(ctx)
	poolErr := s.pool.Shutdown(ctx)
	return errors.Join(drainErr, poolErr, s.stop())
}

// Close stops at once: connections are closed, queued requests dropped and
// running handlers see their request contexts cancelled.
func (s *Server) Close() error {
	<-s.loop.Ready()
	err := s.stop()
	s.pool.Close() //nolint:errcheck // Close only reports double closes
	return err
}

func (s *Server) stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.stopped)
		err = s.loop.Stop(context.Background())
	})
	return err
}

// Serve runs h until SIGINT or SIGTERM, then shuts down gracefully within
// the shutdown timeout (WithShutdownTimeout); a second signal stops at
// once. It listens on 0.0.0.0:8080 unless told otherwise.
func Serve(h http.Handler, opts ...Option) error {
	s, err := New(h, opts...)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	<-s.Ready()
	for _, a := range s.Addrs() {
		s.cfg.logger.Info("carhop: serving", "addr", a.String())
	}
	select {
	case err := <-served:
		return err
	case sig := <-sigs:
		s.cfg.logger.Info("carhop: shutting down", "signal", sig.String(), "grace", s.cfg.shutdownTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.shutdownTimeout)
	defer cancel()
	go func() {
		<-sigs
		s.cfg.logger.Warn("carhop: second signal, closing now")
		cancel()
	}()
	err = s.Shutdown(ctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("carhop: shutdown: %w", err)
	}
	return nil
}
