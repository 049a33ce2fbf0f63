package adapter

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// requestContext is r.Context() for a request served by carhop. It is
// cancelled when the handler returns, when the client goes away while
// the request is queued or running, and by Server.Close (which closes
// every connection).
//
// context.WithCancel would cost two allocations per request and a
// registration in a parent's child set; this costs none beyond the
// pending it lives in, and its done channel is only made for handlers
// that ask for it. AfterFunc lets context.WithTimeout, WithCancel and
// AfterFunc derived from it register a callback instead of starting a
// goroutine to watch Done.
type requestContext struct {
	local net.Addr

	mu    sync.Mutex
	done  chan struct{} // made on the first Done call
	err   error
	after map[*afterFunc]struct{}
}

// closedDone is handed out by Done after cancellation when no channel
// was made before it.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *requestContext) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
	}
	return c.done
}

func (c *requestContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *requestContext) Value(key any) any {
	if key == http.LocalAddrContextKey {
		return c.local
	}
	return nil
}

// cancel ends the context; later calls do nothing.
func (c *requestContext) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	c.mu.Unlock()
	for a := range after {
		go a.f()
	}
}

type afterFunc struct{ f func() }

// AfterFunc is the hook context.AfterFunc and context.WithCancel look for
// on a parent that is not one of the context package's own types.
func (c *requestContext) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.after == nil {
		c.after = make(map[*afterFunc]struct{})
	}
	c.after[a] = struct{}{}
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.after[a]
		delete(c.after, a)
		return ok
	}
}

func (c *requestContext) String() string { return "carhop.requestContext" }
