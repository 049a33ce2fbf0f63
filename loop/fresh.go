package loop

import (
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/carhop/carhop/channel"
)

// fresh marks, as a gnet connection's context, a channel that has
// received nothing yet: a drain gives such a connection newConnGrace to
// send its first request instead of closing it at once. The type carries
// the mark, so marking allocates nothing and only the first OnTraffic pays
// for clearing it.
type fresh channel.Channel

// newConnGrace is how long a drain waits for a new connection's first
// request, as net/http's Shutdown does for connections in StateNew: the
// client has connected and its request is usually on the wire.
const newConnGrace = 5 * time.Second

// channelOf is the connection's channel. input says bytes arrived: a
// fresh channel stops being fresh.
func (s *Server) channelOf(c gnet.Conn, input bool) *channel.Channel {
	switch v := c.Context().(type) {
	case *channel.Channel:
		return v
	case *fresh:
		ch := (*channel.Channel)(v)
		if input {
			c.SetContext(ch)
			s.mu.Lock()
			delete(s.fresh, ch)
			s.mu.Unlock()
			if s.draining.Load() {
				ch.Drain() // before its first request is parsed: it gets Connection: close
			}
		}
		return ch
	}
	return nil
}
