package baselines

import (
	"context"
	"net"
)

// Sequential serves one connection at a time on the accept loop: the
// design with no concurrency at all. Its failure mode is everyone waiting
// for the slowest client: while one keep-alive connection stays open, even
// idle, every other client sits in the kernel's accept backlog.
func Sequential(ctx context.Context, ln *net.TCPListener) error {
	var conns tracker
	stop := whenDone(ctx, conns.closeAll)
	defer stop()
	return acceptLoop(ctx, ln, func(c *net.TCPConn) {
		if conns.add(c) {
			serve(c)
			conns.remove(c)
		}
	})
}
