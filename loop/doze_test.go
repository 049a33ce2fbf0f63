package loop

import (
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/carhop/carhop/channel"
)

// dozingServer is a server whose sweeps are an hour apart, so that a doze
// ends only when something ends it; its ticks are run by the test.
func dozingServer(t *testing.T) *Server {
	t.Helper()
	s := New(Config{CleanupInterval: time.Hour, PollInterval: 5 * time.Millisecond})
	s.ticked = true // no engine: nothing to boot
	return s
}

// tickAsync runs one tick on a goroutine, as gnet's ticker would, and
// returns the delay it gives gnet when it returns.
func tickAsync(s *Server) <-chan time.Duration {
	done := make(chan time.Duration, 1)
	go func() {
		d, action := s.OnTick()
		if action != gnet.None {
			d = -1
		}
		done <- d
	}()
	return done
}

// TestTickerDozesUntilSomethingNeedsIt: a tick that finds the server
// quiet (no traffic for a CleanupInterval, no channel waiting for a poll)
// dozes rather than asking gnet for the next tick PollInterval later, and
// a poll, or the engine's shutdown, ends the doze at once; a tick within a
// CleanupInterval of traffic returns at once with the usual interval.
func TestTickerDozesUntilSomethingNeedsIt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wake  func(s *Server, ch *channel.Channel)
		delay time.Duration // what the doze's tick returns
	}{
		{"a poll ends it", func(s *Server, ch *channel.Channel) { s.poll(ch, 0) }, 0},
		{"shutdown ends it", func(s *Server, _ *channel.Channel) { close(s.doze.quit) }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dozingServer(t)
			var c wakeConn
			var ch channel.Channel
			ch.Init(&channel.Site{Config: s.ch}, &c)
			t.Cleanup(ch.Closed)
			done := tickAsync(s)
			select {
			case d := <-done:
				require.Failf(t, "a quiet tick returned", "delay %v", d)
			case <-time.After(50 * time.Millisecond):
			}
			s.mu.Lock()
			dozing := s.doze.dozing
			s.mu.Unlock()
			require.True(t, dozing, "a quiet server's ticker dozes")
			tc.wake(s, &ch)
			select {
			case d := <-done:
				assert.Equal(t, tc.delay, d, "the doze ends with a tick at once")
			case <-time.After(10 * time.Second):
				require.Fail(t, "the doze did not end")
			}
		})
	}

	t.Run("traffic keeps it napping, not dozing, for a CleanupInterval", func(t *testing.T) {
		s := dozingServer(t)
		s.ch.Counters.BytesIn.Add(1)
		for i := range 3 { // one tick that sees traffic, then two that see none
			select {
			case d := <-tickAsync(s):
				assert.Equal(t, time.Duration(0), d, "tick %d: a nap, then a tick at once", i)
			case <-time.After(10 * time.Second):
				require.Fail(t, "a tick within a CleanupInterval of traffic dozed", "tick %d", i)
			}
		}
		s.doze.moved = s.doze.moved.Add(-time.Hour) // as if the traffic were a CleanupInterval ago
		done := tickAsync(s)
		select {
		case d := <-done:
			require.Failf(t, "a tick a CleanupInterval after the last traffic returned", "delay %v", d)
		case <-time.After(50 * time.Millisecond):
		}
		close(s.doze.quit)
		assert.Equal(t, time.Duration(0), <-done)
	})
}

// TestTickerNapsUnlessAPollWaits: a busy server's ticker sleeps a
// NapInterval between ticks rather than PollInterval, since nothing but
// the polls needs ticks that often, and a poll asked for during a nap
// ends it at once; while a channel waits for a poll, ticks come every
// PollInterval (or sooner, when a poll is due) with no nap.
func TestTickerNapsUnlessAPollWaits(t *testing.T) {
	s := New(Config{CleanupInterval: time.Hour, PollInterval: 5 * time.Millisecond, NapInterval: time.Hour})
	s.ticked = true
	var c wakeConn
	var ch channel.Channel
	ch.Init(&channel.Site{Config: s.ch}, &c)
	t.Cleanup(ch.Closed)
	s.ch.Counters.BytesIn.Add(1) // traffic: not quiet, so a nap, not a doze

	done := tickAsync(s)
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.doze.dozing
	}, 10*time.Second, time.Millisecond, "a busy server's ticker naps")
	select {
	case d := <-done:
		require.Failf(t, "the nap ended by itself", "delay %v", d)
	default:
	}
	s.poll(&ch, 0)
	select {
	case d := <-done:
		assert.Equal(t, time.Duration(0), d, "a poll ends the nap with a tick at once")
	case <-time.After(10 * time.Second):
		require.Fail(t, "a poll did not end the nap")
	}

	select {
	case d := <-tickAsync(s): // the poll is due in PollInterval
		assert.Positive(t, d)
		assert.LessOrEqual(t, d, 5*time.Millisecond, "a channel waits for a poll: no nap")
	case <-time.After(10 * time.Second):
		require.Fail(t, "a tick with a poll waiting napped")
	}
}
