package loop

import (
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// unavailable answers a connection accepted over the connection limit, or
// on gnet's own listeners once a drain has begun.
var unavailable = []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n" +
	"Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nservice unavailable\n")

// maxLingeringRefusals bounds the refused connections that linger at
// once (fewer where the descriptor limit is low: descriptors.go). Each
// holds a descriptor for up to Channel.Linger, and refusals come when the
// server is full: past this many, a refusal closes at once and takes the
// risk of a reset.
const maxLingeringRefusals = 256

// refusal marks, as a gnet connection's context, a connection that was
// answered 503 at accept and is lingering.
type refusal struct {
	c     gnet.Conn
	until time.Time
}

// refuse answers a connection the server will not serve, then lingers as
// a channel does after refusing a request: the client usually sent its
// request as it connected, and closing a socket with unread input makes
// the kernel send a reset, which can destroy the 503 before the client
// has read it. So the answer is written, the sending side shut (the
// client reads the 503 and end of file), input is discarded until the
// client closes, and the connection is closed after Linger at the latest.
func (s *Server) refuse(c gnet.Conn) ([]byte, gnet.Action) {
	s.ch.Counters.Refuse(503)
	s.ch.Counters.BytesOut.Add(uint64(len(unavailable)))
	// The refusal is registered before the client can read the answer,
	// so that whoever sees the 503 sees it lingering.
	r := &refusal{c: c, until: time.Now().Add(s.ch.Linger)}
	s.mu.Lock()
	linger := s.ch.Linger > 0 && len(s.refusals) < s.maxLinger
	if linger {
		s.refusals[r] = struct{}{}
	}
	s.mu.Unlock()
	if !linger {
		return unavailable, gnet.Close
	}
	c.SetContext(r)
	// A fresh socket's send buffer takes 150 bytes whole; anything less
	// means the client is gone already.
	if n, err := unix.Write(c.Fd(), unavailable); err != nil || n != len(unavailable) ||
		unix.Shutdown(c.Fd(), unix.SHUT_WR) != nil {
		s.forget(r)
		return nil, gnet.Close
	}
	return nil, gnet.None
}

// forget drops a lingering refusal whose connection has closed.
func (s *Server) forget(r *refusal) {
	r.c.SetContext(nil)
	s.mu.Lock()
	delete(s.refusals, r)
	s.mu.Unlock()
}

// expireRefusals closes the lingering refusals whose time is up. It runs
// on the ticker; gnet's Close is safe from any goroutine and closes on the
// connection's loop, whose OnClose forgets it.
func (s *Server) expireRefusals(now time.Time) {
	s.mu.Lock()
	var due []gnet.Conn
	for r := range s.refusals {
		if now.After(r.until) {
			due = append(due, r.c)
		}
	}
	s.mu.Unlock()
	for _, c := range due {
		_ = c.Close()
	}
}
