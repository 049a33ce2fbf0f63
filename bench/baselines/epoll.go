package baselines

import (
	"context"
	"net"
)

// Epoll serves every connection from one thread blocked in epoll_wait,
// over non-blocking sockets, answering on the loop itself: the select/poll
// design (the C10K answer, NGINX's worker, Node). A connection holds a
// buffer only while part of a request or response waits in it. Its failure mode is that the loop is the only thread: it
// uses one core, and any slow work done on it (a big response, a slow
// handler) stalls every connection at once.
func Epoll(ctx context.Context, ln *net.TCPListener) error {
	return runLoop(ctx, ln, 0)
}
