package loop

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/carhop/carhop/channel"
)

// wakeConn is a connection that only counts the loop's wakes.
type wakeConn struct{ wakes atomic.Int64 }

var errNoSocket = errors.New("wakeConn: no socket")

func (c *wakeConn) Write([]byte) (int, error)                    { return 0, errNoSocket }
func (c *wakeConn) OutboundBuffered() int                        { return 0 }
func (c *wakeConn) InputPending() bool                           { return false }
func (c *wakeConn) Wake() error                                  { c.wakes.Add(1); return nil }
func (c *wakeConn) Close() error                                 { return nil }
func (c *wakeConn) CloseWrite() error                            { return nil }
func (c *wakeConn) TryWrite(_, _ []byte) (int, error)            { return 0, errNoSocket }
func (c *wakeConn) SendFile(*os.File, int64, int64) (int, error) { return 0, errNoSocket }
func (c *wakeConn) RemoteAddr() net.Addr                         { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }

// TestTickerWakesEachChannelWhenItsWaitIsUp: a channel whose socket
// emptied since its last pump (backoff -1) is woken on the next tick, and
// ticks come every QuickPollInterval while one waits; one at backoff 0
// waits PollInterval, and each step of backoff doubles that.
func TestTickerWakesEachChannelWhenItsWaitIsUp(t *testing.T) {
	s := New(Config{PollInterval: time.Hour, QuickPollInterval: time.Millisecond})
	s.ticked = true // no engine: nothing to boot
	var qc, ac, bc wakeConn
	var q, a, b channel.Channel
	site := &channel.Site{Config: s.ch}
	q.Init(site, &qc)
	a.Init(site, &ac)
	b.Init(site, &bc)
	for _, ch := range []*channel.Channel{&q, &a, &b} {
		t.Cleanup(ch.Closed)
	}
	tick := func() time.Duration {
		s.ch.Counters.BytesIn.Add(1) // traffic: the ticker does not doze (doze.go)
		d, _ := s.OnTick()
		for _, ch := range []*channel.Channel{&q, &a, &b} {
			ch.Pump() // as the loop would on the wake: clears it
		}
		return d
	}
	wakes := func() [3]int64 { return [3]int64{qc.wakes.Load(), ac.wakes.Load(), bc.wakes.Load()} }

	s.poll(&q, -1)
	s.poll(&a, 0)
	s.poll(&b, 2)
	assert.LessOrEqual(t, tick(), time.Millisecond, "a quick channel waits: tick again soon")
	assert.Equal(t, [3]int64{0, 0, 0}, wakes(), "a wait starts when a channel asks")
	s.pollStart[0] = s.pollStart[0].Add(-time.Millisecond)
	assert.Equal(t, time.Millisecond, tick(), "a quick channel was woken: tick again soon")
	assert.Equal(t, [3]int64{1, 0, 0}, wakes(), "only the quick channel is woken at once")
	assert.Greater(t, tick(), 59*time.Minute, "nothing quick waits: the next tick is PollInterval's at most")
	assert.Equal(t, [3]int64{1, 0, 0}, wakes())

	s.pollStart[1] = s.pollStart[1].Add(-time.Hour) // backoff 0: PollInterval is up
	tick()
	assert.Equal(t, [3]int64{1, 1, 0}, wakes(), "backoff 0 waits PollInterval")
	s.pollStart[3] = s.pollStart[3].Add(-3 * time.Hour)
	tick()
	assert.Equal(t, [3]int64{1, 1, 0}, wakes(), "backoff 2 waits four times as long")
	s.pollStart[3] = s.pollStart[3].Add(-time.Hour)
	tick()
	assert.Equal(t, [3]int64{1, 1, 1}, wakes())

	s.poll(&a, channel.MaxBackoff+5) // beyond the last level: waits as long as the last
	s.pollStart[pollLevels-1] = time.Now().Add(-time.Hour << (pollLevels - 2))
	tick()
	assert.Equal(t, [3]int64{1, 2, 1}, wakes())
}
