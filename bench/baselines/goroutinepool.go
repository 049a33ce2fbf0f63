package baselines

import (
	"context"
	"errors"
	"net"
	"sync"
)

// GoroutinePool returns a design in which n worker goroutines take
// accepted connections from a queue as deep as the pool, and each serves
// its connection until it closes: the thread-pool design. Its failure mode
// is n idle or slow keep-alive clients occupying every worker while
// everyone else waits in the queue and then in the accept backlog.
func GoroutinePool(n int) Design {
	return func(ctx context.Context, ln *net.TCPListener) error {
		if n < 1 {
			_ = ln.Close()
			return errors.New("baselines: goroutine pool needs at least one worker")
		}
		var conns tracker
		var wg sync.WaitGroup
		queue := make(chan *net.TCPConn, n)
		for range n {
			wg.Go(func() {
				for c := range queue {
					serve(c)
					conns.remove(c)
				}
			})
		}
		err := acceptLoop(ctx, ln, func(c *net.TCPConn) {
			if !conns.add(c) {
				return
			}
			select {
			case queue <- c:
			case <-ctx.Done():
				_ = c.Close()
			}
		})
		close(queue)
		// Queued connections are closed too: their workers find them dead
		// and move on at once.
		conns.closeAll()
		wg.Wait()
		return err
	}
}
