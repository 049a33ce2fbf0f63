package baselines

import (
	"context"
	"errors"
	"net"
)

// ProcessPool returns a design with n processes started up front, all
// inheriting the listening socket; each accepts and serves one connection
// at a time: the preforking server with a child limit (Apache prefork,
// Gunicorn's sync workers). The parent only waits. Its failure mode is the
// sequential one, n times over: n keep-alive clients, idle or slow, take
// every child and the rest wait in the backlog; and every child wakes for
// each new connection, one wins the accept.
func ProcessPool(n int) Design {
	return func(ctx context.Context, ln *net.TCPListener) error {
		defer func() { _ = ln.Close() }()
		if n < 1 {
			return errors.New("baselines: process pool needs at least one process")
		}
		if err := probe(ctx); err != nil {
			if stopped(ctx) {
				return nil
			}
			return err
		}
		f, err := inheritable(ln)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		cs := newChildren()
		for range n {
			cmd, err := childCommand(context.Background(), modePool, f)
			if err == nil {
				err = cs.start(cmd)
			}
			if err != nil {
				_ = cs.stop()
				return err
			}
		}
		// The children hold the socket now. Open here, it would only wake
		// the parent's netpoller for every connection.
		_ = f.Close()
		_ = ln.Close()
		select {
		case <-ctx.Done():
		case <-cs.failed:
		}
		// A child that died on its own is an error: the pool would serve
		// on with fewer processes than asked and the numbers would lie.
		return cs.stop()
	}
}
