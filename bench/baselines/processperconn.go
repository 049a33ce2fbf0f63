package baselines

import (
	"context"
	"net"
)

// ProcessPerConn hands each accepted connection to a freshly started
// process that serves it and exits: the classic forking server (inetd,
// CGI, Apache's early days). The parent only accepts and reaps. Its
// failure mode is the cost of a process per connection: a start per
// connection (exec of the whole binary here), megabytes each, and a
// server that stops accepting when the PID or memory limit is reached.
func ProcessPerConn(ctx context.Context, ln *net.TCPListener) error {
	if err := probe(ctx); err != nil {
		_ = ln.Close()
		if stopped(ctx) {
			return nil
		}
		return err
	}
	cs := newChildren()
	err := acceptLoop(ctx, ln, func(c *net.TCPConn) {
		// A connection the parent cannot hand on is closed, as a forking
		// server at its limit would, and the design goes on; the first
		// such failure is reported when it stops.
		if err := handOn(cs, c); err != nil {
			cs.fail(err)
		}
	})
	if cerr := cs.stop(); err == nil {
		err = cerr
	}
	return err
}

// handOn starts a child serving c; the parent keeps no copy of c.
func handOn(cs *children, c *net.TCPConn) error {
	f, err := inheritable(c)
	_ = c.Close()
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	cmd, err := childCommand(context.Background(), modeConn, f)
	if err != nil {
		return err
	}
	return cs.start(cmd)
}
