package loop

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// intake accepts connections on listeners carhop was given (or created
// itself: Unix sockets, inherited and systemd sockets) and hands each to
// an event loop. gnet can only listen on addresses it binds itself, so
// this is the way in for every socket it did not create: Engine.Register
// with the accepted net.Conn, which dups the descriptor onto the chosen
// loop (OnOpen runs there) and closes the original.
type intake struct {
	lns     []net.Listener
	addrs   []net.Addr
	stopped chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	// dir holds the private socket gnet listens on when carhop has no
	// address for it to bind (see placeholder).
	dir, private string
}

// placeholder gives gnet a listener of its own when every listener is
// adopted: an engine without one refuses Register (ErrEmptyEngine). It is
// a Unix socket in a fresh directory only this user can enter (0700), and
// OnOpen closes anything that connects to it.
func (in *intake) placeholder() (string, error) {
	dir, err := os.MkdirTemp("", "carhop-")
	if err != nil {
		return "", fmt.Errorf("carhop: directory for the engine's private socket: %w", err)
	}
	in.dir = dir
	in.private = filepath.Join(dir, "engine.sock")
	return "unix://" + in.private, nil
}

func (in *intake) isPrivate(a net.Addr) bool {
	return in.private != "" && a != nil && a.Network() == "unix" && a.String() == in.private
}

// start runs one accepting goroutine per listener. The engine's loops must
// be running (Register needs them), so it is called from the first OnTick.
func (s *Server) startIntake() {
	in := &s.intake
	for _, ln := range in.lns {
		in.wg.Go(func() { s.accept(ln) })
	}
}

// stopIntake closes the adopted listeners and waits until every
// connection already accepted has been opened on a loop, so that a drain
// that starts after it sees them all. With sweep (a drain), it first
// accepts the connections the kernel has queued, which are served once;
// without it, they stay in the queue for whichever process holds the
// socket next.
func (s *Server) stopIntake(sweep bool) {
	in := &s.intake
	in.once.Do(func() {
		close(in.stopped)
		for _, ln := range in.lns {
			if sweep {
				sweepQueue(ln, s.cfg.Logger, s.enroll)
			}
			_ = ln.Close()
		}
	})
	in.wg.Wait()
}

// removePlaceholder removes the private socket's directory; gnet has
// closed the socket and removed its file by then.
func (in *intake) removePlaceholder() {
	if in.dir != "" {
		_ = os.RemoveAll(in.dir)
	}
}

// accept is one listener's accept loop. Each connection is enrolled
// before the next is accepted: Register's result arrives after OnOpen has
// run, so when stopIntake's wait ends no accepted connection is in
// flight.
func (s *Server) accept(ln net.Listener) {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			select {
			case <-s.intake.stopped:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				s.cfg.Logger.Error("carhop: listener closed under the server", "addr", ln.Addr().String())
				return
			}
			// Out of descriptors and the like: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.cfg.Logger.Error("carhop: accept failed", "addr", ln.Addr().String(), "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-s.intake.stopped:
				return
			}
			continue
		}
		delay = 0
		s.enroll(c)
	}
}

// enroll hands c to an event loop and waits until OnOpen has run there.
func (s *Server) enroll(c net.Conn) {
	res, err := s.eng.Register(gnet.NewNetConnContext(context.Background(), c))
	if err != nil {
		// gnet took no ownership: its pool refused the job, or the
		// engine is stopping.
		_ = c.Close()
		s.cfg.Logger.Error("carhop: cannot hand a connection to the event loops", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	if r := <-res; r.Err != nil {
		s.cfg.Logger.Error("carhop: cannot hand a connection to the event loops", "remote", c.RemoteAddr().String(), "err", r.Err)
	}
}
