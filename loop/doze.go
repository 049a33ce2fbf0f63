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
// engine's shutdown. Traffic that arrives during a doze needs no tick:
// the loops serve it, and only the coarse clock would go stale, which is
// why a doze pauses it (clock.Pause: until the next tick the per-request
// paths read the time themselves). The first tick after the doze sees the
// traffic and ticks on as before.
//
// A busy server with no channel waiting for a poll naps instead: a
// NapInterval between ticks, ended by a poll as a doze is, with the
// coarse clock left running (DefaultNapInterval).
//
// gnet's ticker cannot be woken before the delay OnTick gave it is up, so
// the doze and the nap happen inside OnTick, on gnet's ticker goroutine,
// which has nothing else to do.
type dozer struct {
	dozing bool          // the ticker is dozing or napping; s.mu
	kick   chan struct{} // wakes a doze or a nap: a poll is due sooner
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

// DefaultNapInterval is how long the ticker sleeps between ticks while
// the server is busy but no channel waits for a poll: the polls need
// PollInterval, the timeouts a CleanupInterval, and the coarse clock (the
// Date header, activity stamps) no finer than this. Ticking every
// PollInterval regardless was 13 % of a lightly loaded server's samples:
// napping cut its CPU by a quarter at 195 and at 890 requests a second,
// with latency within the machine's noise (at 195 a second the median
// up to 0.1 ms higher in two runs of three), and changed nothing under
// load (docs/performance.md, "Light load").
const DefaultNapInterval = 50 * time.Millisecond

// dozeOrTick returns the delay for gnet's ticker: next, while a channel
// waits for a poll; otherwise 0 (tick at once) after a nap of up to
// NapInterval, or, if the server has been quiet for a CleanupInterval,
// after dozing until the next sweep is due. A poll, or the engine's
// shutdown, ends a nap or a doze at once.
func (s *Server) dozeOrTick(now time.Time, next time.Duration) time.Duration {
	if t := s.traffic(); t != s.doze.seen {
		s.doze.seen, s.doze.moved = t, now
	}
	s.mu.Lock()
	quiet := now.Sub(s.doze.moved) >= s.cfg.CleanupInterval
	if len(s.polled) > 0 || !quiet && next >= s.cfg.NapInterval {
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
	until := s.lastScan.Add(s.cfg.CleanupInterval)
	if quiet {
		clock.Pause()
	} else if nap := now.Add(s.cfg.NapInterval); nap.Before(until) {
		until = nap // the clock goes on from the ticks: at most a nap stale
	}
	timer := time.NewTimer(until.Sub(now))
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
