package baselines

import (
	"context"
	"net"
	"sync"
)

// GoroutinePerConn starts a goroutine for each connection: the
// thread-per-connection design, with Go's cheap threads (net/http's
// design, without net/http). Its failure mode is that every connection
// holds a goroutine, its stack and its buffer for its whole life, idle or
// slow, so memory grows with the number of clients; with OS threads the
// limit would come far sooner.
func GoroutinePerConn(ctx context.Context, ln *net.TCPListener) error {
	var conns tracker
	var wg sync.WaitGroup
	err := acceptLoop(ctx, ln, func(c *net.TCPConn) {
		if conns.add(c) {
			wg.Go(func() {
				serve(c)
				conns.remove(c)
			})
		}
	})
	conns.closeAll()
	wg.Wait()
	return err
}
