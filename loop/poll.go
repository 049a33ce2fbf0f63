package loop

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/carhop/carhop/channel"
	"github.com/carhop/carhop/internal/clock"
)

// unpoll forgets a closed channel's poll. s.mu held.
func (s *Server) unpoll(ch *channel.Channel) {
	if level, ok := s.polled[ch]; ok {
		delete(s.polls[level], ch)
		delete(s.polled, ch)
	}
}

// pollLevels are the waits a channel can ask for: quick, then
// PollInterval doubled up to MaxBackoff times.
const pollLevels = channel.MaxBackoff + 2

// poll is the channels' Poll hook: backoff -1 asks for the quick level,
// 0 for PollInterval, and each further pump that moved nothing doubles
// the wait, up to 64 times PollInterval (320 ms by default).
//
// A channel waits at one level at a time, the soonest it asked for: the
// pump and a paused writer may both ask.
func (s *Server) poll(ch *channel.Channel, backoff int) {
	level := min(max(backoff+1, 0), pollLevels-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.polled[ch]; ok {
		if cur <= level {
			return
		}
		delete(s.polls[cur], ch)
	}
	if len(s.polls[level]) == 0 {
		s.pollStart[level] = time.Now()
	}
	s.polls[level][ch] = struct{}{}
	s.polled[ch] = level
	s.wakeTicker()
}

// pollWait is how long a channel at level waits to be woken.
func (s *Server) pollWait(level int) time.Duration {
	if level == 0 {
		return s.cfg.QuickPollInterval
	}
	return s.cfg.PollInterval << (level - 1)
}

// OnTick wakes channels waiting for their sockets to drain and, every
// CleanupInterval, applies the timeouts.
//
// gnet says nothing when a socket drains, so a channel whose output the
// socket could not take asks to be woken (channel.Config.Poll), and how
// soon depends on its client. One whose socket emptied since its last
// pump reads faster than the usual interval lets it: it is woken
// QuickPollInterval after it asks, and ticks come that often while one
// waits (a socket that empties in a millisecond would otherwise sit idle
// for four). One whose pumps keep finding the socket full waits twice as
// long after each, up to 64 times PollInterval: a thousand clients
// reading 40 KB/s each, with 3 MiB responses waiting in the server, cost
// it 15 % of a CPU in polls every 5 ms that moved nothing, 2-3 % with this
// backoff (net/http: none, its handlers blocked instead). The first pump
// that moves anything brings the channel back to PollInterval, and a
// channel whose socket once emptied between two polls never waits longer
// than that: a client reading 200 MB/s would empty its socket during a
// long wait and sit idle (channel.Pump).
//
// A quiet server's ticker dozes instead (doze.go).
//
// Two other ways were measured and dropped: polling every waiting
// channel each millisecond cost a download to a client reading 200 MB/s
// a third more CPU, and waking channels on EPOLLOUT from an epoll set of
// the loop's own about 1.7 times as much.
func (s *Server) OnTick() (time.Duration, gnet.Action) {
	if !s.ticked {
		// The loops are registered and running now: Register works.
		s.ticked = true
		s.startIntake()
		close(s.booted)
	}
	now := time.Now()
	clock.Tick(now)
	next := s.cfg.PollInterval // or sooner, for a poll due sooner; with none waiting, dozeOrTick naps instead
	s.mu.Lock()
	var wake []*channel.Channel
	for level, chs := range s.polls {
		if len(chs) == 0 {
			continue
		}
		due := s.pollStart[level].Add(s.pollWait(level))
		if now.Before(due) {
			next = min(next, due.Sub(now))
			continue
		}
		for ch := range chs {
			wake = append(wake, ch)
			delete(s.polled, ch)
		}
		clear(chs)
		if level == 0 { // they are likely to ask again at once
			next = min(next, s.cfg.QuickPollInterval)
		}
	}
	sweep := now.Sub(s.lastScan) >= s.cfg.CleanupInterval
	if sweep {
		s.lastScan = now
	}
	s.mu.Unlock()
	for _, ch := range wake {
		ch.Wake()
	}
	if sweep {
		s.sweep(func(ch *channel.Channel) { ch.Expire(now, s.cfg.Timeouts) })
		s.expireRefusals(now)
		if s.cfg.Sweep != nil {
			s.cfg.Sweep()
		}
	}
	return s.dozeOrTick(now, next), gnet.None
}
