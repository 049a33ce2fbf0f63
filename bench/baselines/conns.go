package baselines

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// acceptLoop hands each connection ln accepts to handle until ctx ends,
// and closes ln. It returns nil once ctx has ended, or the error that made
// accepting impossible.
func acceptLoop(ctx context.Context, ln *net.TCPListener, handle func(*net.TCPConn)) error {
	stop := whenDone(ctx, func() { _ = ln.Close() })
	defer stop()
	defer func() { _ = ln.Close() }()
	var backoff time.Duration
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			if stopped(ctx) {
				return nil
			}
			if !exhausted(err) {
				return err
			}
			// Out of descriptors or memory: net/http's answer, wait for
			// connections to end rather than fail the server.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		backoff = 0
		handle(c)
	}
}

// exhausted reports whether an accept error is a shortage that passes.
func exhausted(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// stopped reports whether ctx has ended.
func stopped(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// whenDone runs f once ctx ends. The returned stop guarantees that f
// either never runs or has finished, so nothing f touches is used after
// a design returns.
func whenDone(ctx context.Context, f func()) (stop func()) {
	done := make(chan struct{})
	cancel := context.AfterFunc(ctx, func() {
		defer close(done)
		f()
	})
	return func() {
		if !cancel() {
			<-done
		}
	}
}

// tracker holds the open connections of a blocking design, so that
// stopping can close them: a goroutine blocked reading an idle keep-alive
// connection has no other way out.
type tracker struct {
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// add registers c, or closes it and reports false if the design is
// stopping.
func (t *tracker) add(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		_ = c.Close()
		return false
	}
	if t.conns == nil {
		t.conns = make(map[net.Conn]struct{})
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *tracker) remove(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// closeAll closes every connection, now and later added.
func (t *tracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for c := range t.conns {
		_ = c.Close()
	}
	clear(t.conns)
}
