package loop

import (
	"time"

	"github.com/carhop/carhop/internal/clock"
)

// A server with nothing to do lets its ticker doze until the next sweep
// of the timeouts, rather than tick every PollInterval: an idle carhop
// woke 200 times a second, which cost it 2 % of a CPU with no connection
// open (net/http: 0.05 %; docs/performance.md, "An idle server").
//
// The ticker dozes when nothing has moved for a CleanupInterval (no byte
// in or out, no connection accepted) and no channel waits for a poll; a
// channel that asks for one (poll) wakes it at once, and so does the
// engine's shutdown. It waits that second so that a lightly loaded
// server behaves as it did with the ticks, which may keep Go's scheduler
// threads awake (docs/performance.md measures a client sending a request
// every 50 ms: within the noise either way), and a server quiet for a
// second has no such client. Traffic that arrives during a
// doze needs no tick: the loops serve it, and only the coarse clock would
// go stale, which is why a doze pauses it (clock.Pause: until the next
// tick the per-request paths read the time themselves). The first tick
// after the doze sees the traffic and ticks on as before.
//
// gnet's ticker cannot be woken before the delay OnTick gave it is up, so
// the doze happens inside OnTick, on gnet's ticker goroutine, which has
// nothing else to do.
type dozer struct {
	dozing bool          // the ticker is dozing; s.mu
	kick   chan struct{} // wakes a doze: a poll is due sooner
	quit   chan struct{} // closed at the engine's shutdown
	seen   uint64        // the traffic count at the last tick (ticker only)
	moved  time.Time     // the last tick that found it changed (ticker only)
}

func (d *dozer) init() {
	d.kick = make(chan struct{}, 1)
	d.quit = make(chan struct{})
}

// traffic is a count that moves whenever the server does anything a tick
// may need to follow.
func (s *Server) traffic() uint64 {
	c := s.ch.Counters
	return c.BytesIn.Load() + c.BytesOut.Load() + s.accepted.Load()
}

// dozeOrTick returns the delay for gnet's ticker: next, or, if the server
// has been quiet for a CleanupInterval and no channel waits for a poll,
// after dozing until the next sweep is due (0: tick at once).
func (s *Server) dozeOrTick(now time.Time, next time.Duration) time.Duration {
	if t := s.traffic(); t != s.doze.seen {
		s.doze.seen, s.doze.moved = t, now
	}
	s.mu.Lock()
	quiet := now.Sub(s.doze.moved) >= s.cfg.CleanupInterval && len(s.polled) == 0
	if !quiet {
		s.mu.Unlock()
		return next
	}
	// A kick left from a doze that ended by itself goes before dozing is
	// set, under the lock: a poll's kick can only follow, never be the
	// one drained.
	select {
	case <-s.doze.kick:
	default:
	}
	s.doze.dozing = true
	s.mu.Unlock()
	clock.Pause()
	timer := time.NewTimer(s.lastScan.Add(s.cfg.CleanupInterval).Sub(now))
	select {
	case <-timer.C:
	case <-s.doze.kick:
	case <-s.doze.quit:
	}
	timer.Stop()
	s.mu.Lock()
	s.doze.dozing = false
	s.mu.Unlock()
	return 0
}

// wakeTicker cuts a doze short: a channel asked for a poll. s.mu held.
func (s *Server) wakeTicker() {
	if s.doze.dozing {
		s.doze.dozing = false
		select {
		case s.doze.kick <- struct{}{}:
		default: // a kick is pending already
		}
	}
}
