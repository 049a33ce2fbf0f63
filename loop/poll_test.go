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
func (c *wakeConn) Wake() error                                  { c.wakes.Add(1); return nil }
func (c *wakeConn) Close() error                                 { return nil }
func (c *wakeConn) CloseWrite() error                            { return nil }
func (c *wakeConn) TryWrite(_, _ []byte) (int, error)            { return 0, errNoSocket }
func (c *wakeConn) SendFile(*os.File, int64, int64) (int, error) { return 0, errNoSocket }
func (c *wakeConn) RemoteAddr() net.Addr                         { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1} }

// TestTickerPollsQuickChannelsSooner: a channel whose socket emptied since
// its last pump is woken on the next tick, and ticks come every
// QuickPollInterval while one is; any other waits for PollInterval.
func TestTickerPollsQuickChannelsSooner(t *testing.T) {
	s := New(Config{PollInterval: time.Hour, QuickPollInterval: time.Millisecond})
	s.ticked = true // no engine: nothing to boot
	var quick, slow wakeConn
	var qch, sch channel.Channel
	qch.Init(&s.ch, &quick, nil)
	sch.Init(&s.ch, &slow, nil)
	t.Cleanup(qch.Closed)
	t.Cleanup(sch.Closed)
	tick := func() time.Duration {
		d, _ := s.OnTick()
		qch.Pump() // as the loop would on the wake: clears it
		sch.Pump()
		return d
	}

	s.lastPoll = time.Now() // every channel was just polled
	s.poll(&qch, true)
	s.poll(&sch, false)
	assert.Equal(t, time.Millisecond, tick(), "a quick channel was woken: tick again soon")
	assert.Equal(t, int64(1), quick.wakes.Load(), "the quick channel is woken at once")
	assert.Zero(t, slow.wakes.Load(), "the other waits for its interval")

	s.poll(&qch, true)
	s.poll(&qch, false) // a writer asking meanwhile keeps it quick
	tick()
	assert.Equal(t, int64(2), quick.wakes.Load())

	assert.Greater(t, tick(), 59*time.Minute, "no quick channel waiting: the next tick is the interval's")
	assert.Zero(t, slow.wakes.Load())

	s.lastPoll = time.Now().Add(-time.Hour) // the interval is up
	s.poll(&qch, false)
	assert.Equal(t, time.Hour, tick())
	assert.Equal(t, int64(1), slow.wakes.Load(), "woken with its interval")
	assert.Equal(t, int64(3), quick.wakes.Load())
}
