package adapter

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type baseKey struct{}

// TestBaseContext: r.Context() carries the base context's values and
// deadline and ends with it, whether the handler waits on Done or polls
// Err.
func TestBaseContext(t *testing.T) {
	deadline := time.Now().Add(time.Hour).Truncate(time.Second)
	base, cancel := context.WithDeadline(context.WithValue(context.Background(), baseKey{}, "from base"), deadline)
	defer cancel()
	type seen struct {
		value       any
		deadline    time.Time
		hasDeadline bool
		local       bool
		err         error
	}
	got := make(chan seen, 2)
	entered := make(chan struct{}, 2)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		d, ok := ctx.Deadline()
		s := seen{value: ctx.Value(baseKey{}), deadline: d, hasDeadline: ok, local: ctx.Value(http.LocalAddrContextKey) != nil}
		entered <- struct{}{}
		if r.URL.Path == "/done" {
			<-ctx.Done()
		} else {
			for ctx.Err() == nil { // never asks for Done
				time.Sleep(time.Millisecond)
			}
		}
		s.err = ctx.Err()
		got <- s
	}), WithBaseContext(base))

	var wg sync.WaitGroup
	for _, path := range []string{"/done", "/err"} {
		c := dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.WriteString(c.c, "GET "+path+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			_, _ = io.ReadAll(c.r)
		}()
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("handlers did not start")
		}
	}
	cancel()
	for range 2 {
		select {
		case s := <-got:
			assert.Equal(t, seen{value: "from base", deadline: deadline, hasDeadline: true, local: true, err: context.Canceled}, s)
		case <-time.After(10 * time.Second):
			t.Fatal("cancelling the base context did not end the requests")
		}
	}
	wg.Wait()
}

// countingParent is a base context that counts the callbacks registered
// on it (context.AfterFunc uses its AfterFunc method) and not yet
// stopped.
type countingParent struct {
	done        chan struct{}
	live, total atomic.Int64
}

func (p *countingParent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (p *countingParent) Done() <-chan struct{}       { return p.done }
func (p *countingParent) Err() error                  { return nil }
func (p *countingParent) Value(any) any               { return nil }
func (p *countingParent) AfterFunc(func()) func() bool {
	p.live.Add(1)
	p.total.Add(1)
	var once sync.Once
	return func() bool {
		stopped := false
		once.Do(func() { p.live.Add(-1); stopped = true })
		return stopped
	}
}

// TestBaseContextForgetsFinishedRequests: a request that asked for Done
// registers with the base context, and unregisters when it ends, so that
// a base context living as long as the server does not collect one child
// per request.
func TestBaseContextForgetsFinishedRequests(t *testing.T) {
	parent := &countingParent{done: make(chan struct{})}
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		default:
		}
		_, _ = io.WriteString(w, "ok")
	}), WithBaseContext(parent))
	c := client(t)
	for range 50 {
		resp, err := c.Get("http://" + addr + "/")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
	}
	assert.Equal(t, int64(50), parent.total.Load(), "each request that asked for Done registered")
	assert.Eventually(t, func() bool { return parent.live.Load() == 0 }, 10*time.Second, 10*time.Millisecond,
		"registrations left: %d", parent.live.Load())
}

func TestWithBaseContextNil(t *testing.T) {
	//nolint:staticcheck // a nil context is the point
	_, err := New(http.NotFoundHandler(), WithBaseContext(nil))
	assert.ErrorContains(t, err, "WithBaseContext(nil)")
}
