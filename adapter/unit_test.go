package adapter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"

	"github.com/carhop/carhop/channel"
)

// A unit is the adapter on one channel whose socket and event loop are
// fakes: requests go in with feed, tasks run on the calling goroutine,
// and what the server writes collects in out. No goroutine, no socket:
// for allocation guards and fuzz targets that run thousands of requests.
type unit struct {
	ch    channel.Channel
	conn  sinkConn
	tasks []interface{ Run() }
}

func newUnit(t testing.TB, h http.Handler) *unit {
	s := &Server{handler: h, cfg: defaultConfig()}
	s.cfg.logger = slog.New(slog.DiscardHandler)
	s.cfg.baseContext = withServer(context.Background(), s.cfg.httpServer(h))
	u := &unit{tasks: make([]interface{ Run() }, 0, 1)}
	cfg := s.cfg.channelConfig()
	cfg.NewRequest, cfg.Cancel, cfg.Serve = s.newRequest, cancelRequest, s.serve
	cfg.ErrorResponse, cfg.Trailers = s.errorResponse, setTrailers
	cfg.Submit = func(t interface{ Run() }) error { u.tasks = append(u.tasks, t); return nil }
	cfg.Poll = func(*channel.Channel, int) {}
	u.ch.Init(&channel.Site{Config: cfg.WithDefaults(), Local: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 80}}, &u.conn)
	t.Cleanup(u.ch.Closed)
	return u
}

// feed gives the channel input, as the loop would, runs the tasks it
// queues (and those they queue) and pumps; it returns how much input the
// channel consumed.
func (u *unit) feed(in []byte) int {
	n := u.ch.Received(in)
	for i := 0; i < len(u.tasks); i++ {
		u.tasks[i].Run()
	}
	u.tasks = u.tasks[:0]
	u.ch.Pump()
	return n
}

// sinkConn is a socket that takes everything written to it.
type sinkConn struct{ out bytes.Buffer }

var errSink = errors.New("sinkConn: not supported")

func (c *sinkConn) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *sinkConn) OutboundBuffered() int       { return 0 }
func (c *sinkConn) InputPending() bool          { return false }
func (c *sinkConn) Wake() error                 { return nil }
func (c *sinkConn) Close() error                { return nil }
func (c *sinkConn) CloseWrite() error           { return nil }
func (c *sinkConn) TryWrite(pre, p []byte) (int, error) {
	c.out.Write(pre)
	c.out.Write(p)
	return len(pre) + len(p), nil
}
func (c *sinkConn) SendFile(*os.File, int64, int64) (int, error) { return 0, errSink }
func (c *sinkConn) RemoteAddr() net.Addr                         { return remoteAddr }

var remoteAddr net.Addr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}
