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
//
// With WithBaseContext it also has a parent, whose values and deadline
// it carries and whose cancellation it follows. It registers with the
// parent only when a handler asks for Done, and unregisters when it
// ends, so that a long-lived parent does not collect a child per request.
type requestContext struct {
	local  net.Addr
	parent context.Context // WithBaseContext's; nil without one

	mu         sync.Mutex
	done       chan struct{} // made on the first Done call
	err        error
	after      map[*afterFunc]struct{}
	stopParent func() bool // the parent's AfterFunc registration, made with done
}

// closedDone is handed out by Done after cancellation when no channel
// was made before it.
var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *requestContext) Deadline() (time.Time, bool) {
	if c.parent != nil {
		return c.parent.Deadline()
	}
	return time.Time{}, false
}

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
		if c.parent != nil && c.parent.Done() != nil {
			// The callback runs on a goroutine of its own, even for a
			// parent already done: holding mu here cannot deadlock.
			c.stopParent = context.AfterFunc(c.parent, func() { c.cancelWith(c.parent.Err()) })
		}
	}
	return c.done
}

func (c *requestContext) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil && c.parent != nil {
		// A handler that polls Err without ever asking for Done sees
		// the parent's end too.
		if err = c.parent.Err(); err != nil {
			c.cancelWith(err)
		}
	}
	return err
}

func (c *requestContext) Value(key any) any {
	if key == http.LocalAddrContextKey {
		return c.local
	}
	if c.parent != nil {
		return c.parent.Value(key)
	}
	return nil
}

// cancel ends the context; later calls do nothing.
func (c *requestContext) cancel() { c.cancelWith(context.Canceled) }

func (c *requestContext) cancelWith(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	after := c.after
	c.after = nil
	stop := c.stopParent
	c.stopParent = nil
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
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
